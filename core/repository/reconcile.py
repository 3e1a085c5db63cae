"""What the reconciler reads and changes: running jobs whose worker went silent, queued jobs whose message is gone."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session

from core.repository.events import log_event
from core.states import JobStatus
from core.tables import Job
from core.timeutil import utcnow


@dataclass(frozen=True)
class LostJob:
    """A running job whose heartbeat is older than the cutoff."""

    id: str
    attempt: int
    restarts: int
    max_restarts: int
    heartbeat_at: datetime | None


def stale_running(session: Session, *, cutoff: datetime) -> list[LostJob]:
    """Running jobs whose last heartbeat is older than the cutoff."""
    rows = session.execute(
        select(Job.id, Job.attempt, Job.restarts, Job.spec, Job.heartbeat_at).where(
            Job.status == "running", Job.heartbeat_at < cutoff
        )
    )
    return [LostJob(i, a, r, int(spec.get("max_restarts", 3)), hb) for i, a, r, spec, hb in rows]


def running_attempt(session: Session, *, job_id: str, attempt: int) -> LostJob | None:
    """The job if this attempt still holds it running (a worker's previous life died holding it), else None."""
    row = session.execute(
        select(Job.id, Job.attempt, Job.restarts, Job.spec, Job.heartbeat_at).where(
            Job.id == job_id, Job.attempt == attempt, Job.status == "running"
        )
    ).one_or_none()
    if row is None:
        return None
    job_id, attempt, restarts, spec, heartbeat_at = row
    return LostJob(job_id, attempt, restarts, int(spec.get("max_restarts", 3)), heartbeat_at)


def requeue_lost(session: Session, *, job: LostJob, cutoff: datetime | None) -> str | None:
    """Queue a lost job again, or fail it once it used up its restarts; None when another reconciler was first.

    With a cutoff the heartbeat must still be older than it (the reconciler); without, the caller knows the worker
    is gone (its restarted self found the job it held).
    """
    out_of_restarts = job.restarts >= job.max_restarts
    values = (
        {"status": "failed", "reason": "worker_lost", "finished_at": utcnow()}
        if out_of_restarts
        else {
            "status": "queued",
            "reason": "worker_lost",
            "restarts": job.restarts + 1,
            "enqueued_at": utcnow(),
            "dispatched_at": None,  # the dispatcher sends it again, when its pool has a free slot
        }
    )
    won = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempt == job.attempt, Job.status == "running")
        .where(Job.heartbeat_at < cutoff if cutoff is not None else true())
        .values(**values)
    ).rowcount  # type: ignore[attr-defined]
    if not won:
        return None
    status: JobStatus = "failed" if out_of_restarts else "queued"
    detail = (
        f"the worker was lost {job.restarts + 1} times; max_restarts is {job.max_restarts}"
        if out_of_restarts
        else f"no heartbeat since {job.heartbeat_at.isoformat() if job.heartbeat_at else 'the start'}; "
        f"restart {job.restarts + 1} of {job.max_restarts}"
    )
    if out_of_restarts:
        session.execute(update(Job).where(Job.id == job.id).values(error=detail))
    log_event(session, job_id=job.id, status=status, attempt=job.attempt, reason="worker_lost", detail=detail)
    return status


@dataclass(frozen=True)
class WaitingJob:
    """A queued job the dispatcher sent, its pool, and when its message was last sent."""

    id: str
    attempt: int
    dispatched_at: datetime | None
    pool: str = "default"


def queued_since(session: Session, *, before: datetime) -> list[WaitingJob]:
    """Queued jobs whose message was last sent before this time, oldest first (those never sent wait for the
    dispatcher, not for the reconciler)."""
    rows = session.execute(
        select(Job.id, Job.attempt, Job.dispatched_at, Job.pool)
        .where(Job.status == "queued", Job.dispatched_at < before)
        .order_by(Job.created_at)
    )
    return [WaitingJob(job_id, attempt, sent, pool) for job_id, attempt, sent, pool in rows]


def touch_enqueued(session: Session, *, job: WaitingJob) -> bool:
    """Mark a sent job as sent again now, if no other reconciler did since we looked (compare-and-set)."""
    won = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "queued", Job.dispatched_at == job.dispatched_at)
        .values(dispatched_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if won:
        log_event(
            session,
            job_id=job.id,
            status="queued",
            attempt=job.attempt,
            reason="message_lost",
            detail="no message for it in the broker: sent again",
        )
    return bool(won)
