"""A job's life as a worker drives it: claim, progress, checkpoints, hand-back, end; each write fenced by attempt."""

from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import StaleAttempt
from core.metrics import Point, merge_summaries
from core.repository.events import log_event
from core.repository.points import delete_points_after, insert_points
from core.states import EndReason, JobStatus, ModelStatus
from core.tables import Job
from core.timeutil import utcnow

PRUNED_MODEL = "its sweep pruned it, so it keeps no model; the sweep's best trial has one"

StopAsked = Literal["cancelled", "preempted"] | None  # what a job's owner or the dispatcher asks of a running job


def _owned(job_id: str, attempt: int) -> Any:
    """The WHERE clause of a fenced write: this attempt still owns the running job."""
    return (Job.id == job_id, Job.attempt == attempt, Job.status == "running")


def claim_job(session: Session, *, job_id: str, worker_id: str | None = None) -> int | None:
    """Compare-and-set a queued, uncancelled job to running (on this worker); the new attempt number, or None if the
    claim lost."""
    now = utcnow()
    # The progress goes back to where this attempt resumes, in the claim itself: a reader of job.step never takes an
    # earlier attempt's points past the checkpoint (about to be rewound) for new ones. The state log says the step.
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.cancel_requested.is_(False))
        .values(
            status="running",
            attempt=Job.attempt + 1,
            started_at=now,
            heartbeat_at=now,
            error=None,
            reason=None,
            step=func.coalesce(Job.checkpoint_step, 0),
            worker_id=worker_id,
            preempt_requested=False,
        )
        .returning(Job.attempt, Job.step)
    ).one_or_none()
    if claimed is None:
        return None
    attempt, step = claimed
    if attempt == 1:
        log_event(session, job_id=job_id, status="running", attempt=attempt)
    else:
        log_event(
            session, job_id=job_id, status="running", attempt=attempt, detail=f"resuming from step {step}", step=step
        )
    return int(attempt)


def record_progress(
    session: Session, *, job_id: str, attempt: int, points: list[Point], epoch: int, step: int
) -> StopAsked:
    """Write a batch of points, the progress, the summary and a heartbeat, fenced by attempt; what stop is asked.

    Raises StaleAttempt when this attempt no longer owns the job, so a late worker cannot write over a newer one.
    """
    row = session.execute(
        select(Job.summary, Job.cancel_requested, Job.preempt_requested)
        .where(*_owned(job_id, attempt))
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise StaleAttempt(f"job {job_id} attempt {attempt} no longer owns the job")
    summary, cancel_requested, preempt_requested = row
    stored = insert_points(session, job_id=job_id, points=points)
    session.execute(
        update(Job)
        .where(*_owned(job_id, attempt))
        .values(heartbeat_at=utcnow(), epoch=epoch, step=step, summary=merge_summaries(summary or {}, stored))
    )
    return "cancelled" if cancel_requested else "preempted" if preempt_requested else None


def rewind_history(session: Session, *, job_id: str, attempt: int, step: int, epoch: int) -> None:
    """Forget what earlier attempts recorded past a resume point, so the history stays one point per (name, step)."""
    owned = session.execute(select(Job.id).where(*_owned(job_id, attempt)).with_for_update()).one_or_none()
    if owned is None:
        raise StaleAttempt(f"job {job_id} attempt {attempt} no longer owns the job")
    summary = delete_points_after(session, job_id=job_id, step=step)
    session.execute(update(Job).where(*_owned(job_id, attempt)).values(summary=summary, step=step, epoch=epoch))


def record_checkpoint(session: Session, *, job_id: str, attempt: int, path: str, step: int) -> None:
    """Point the job at its newest complete checkpoint, fenced by attempt."""
    result = session.execute(
        update(Job).where(*_owned(job_id, attempt)).values(checkpoint_path=path, checkpoint_step=step)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise StaleAttempt(f"job {job_id} attempt {attempt} no longer owns the job")


def finish_job(
    session: Session,
    *,
    job_id: str,
    attempt: int,
    status: JobStatus,
    reason: EndReason | None = None,
    error: str | None = None,
    detail: str | None = None,
) -> bool:
    """End a running job with a terminal status, fenced by attempt; False when this attempt no longer owns it.

    `error` is for a failure (shown on the job); `detail` explains any other ending in the state log.
    """
    now = utcnow()
    model_status: ModelStatus | None = None
    model_detail = None
    if status == "succeeded" and reason == "pruned":  # it stopped where it was worse than others: no model to keep
        model_status, model_detail = "unavailable", PRUNED_MODEL
    elif status == "succeeded":  # its model files are written next, by the same worker (worker.export)
        model_status = "exporting"
    result = session.execute(
        update(Job)
        .where(*_owned(job_id, attempt))
        .values(
            status=status,
            reason=reason,
            error=error,
            finished_at=now,
            heartbeat_at=now,
            model_status=model_status,
            model_detail=model_detail,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    log_event(session, job_id=job_id, status=status, attempt=attempt, reason=reason, detail=error or detail)
    return True


def hand_back(session: Session, *, job_id: str, attempt: int, reason: EndReason, detail: str) -> bool:
    """Return a running job to the queue without counting a restart (a worker shutting down, a preemption), for the
    dispatcher to send again; False if not owned."""
    result = session.execute(
        update(Job)
        .where(*_owned(job_id, attempt))
        .values(status="queued", reason=reason, enqueued_at=utcnow(), dispatched_at=None, preempt_requested=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    log_event(session, job_id=job_id, status="queued", attempt=attempt, reason=reason, detail=detail)
    return True
