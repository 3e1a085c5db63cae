"""Jobs as clients see them: submit, read, list, cancel."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.errors import JobNotFound
from core.queue import DEFAULT_POOL
from core.repository.cursors import newest_first_page
from core.repository.events import log_event
from core.spec import PRIORITY_RANK
from core.states import ACTIVE_STATUSES, JobStatus
from core.tables import Job, MetricChunk, MetricPoint
from core.timeutil import utcnow


def _scoped(owner_id: str | None, key: str) -> str:
    """An Idempotency-Key as stored: scoped to its owner, so one user's key never finds another's job."""
    return f"{owner_id or '-'}:{key}"


def create_job(
    session: Session,
    *,
    name: str,
    spec: dict[str, Any],
    idempotency_key: str | None,
    request_hash: str | None,
    owner_id: str | None = None,
    actor: str | None = None,
    rerun_of: str | None = None,
) -> Job:
    """Add a queued job (flushed, not committed: the caller commits before it enqueues); `rerun_of` names the job
    it reruns."""
    job = Job(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        rerun_of=rerun_of,
        name=name,
        spec=spec,
        status="queued",
        idempotency_key=None if idempotency_key is None else _scoped(owner_id, idempotency_key),
        request_hash=request_hash,
        summary={},
        created_at=utcnow(),
        pool=spec.get("pool", DEFAULT_POOL),
        priority=PRIORITY_RANK[spec.get("priority", "normal")],
    )
    job.enqueued_at = job.created_at
    session.add(job)
    session.flush()
    detail = "submitted" if rerun_of is None else f"rerun of {rerun_of}"
    log_event(session, job_id=job.id, status="queued", attempt=0, detail=detail, actor=actor)
    return job


def find_job_by_idempotency_key(session: Session, *, key: str, owner_id: str | None = None) -> Job | None:
    """The job this owner first submitted with this Idempotency-Key, if any."""
    return session.scalars(select(Job).where(Job.idempotency_key == _scoped(owner_id, key))).one_or_none()


def count_active_jobs(session: Session, *, owner_id: str) -> int:
    """How many of this owner's jobs are queued or running."""
    query = select(func.count()).select_from(Job).where(Job.owner_id == owner_id, Job.status.in_(ACTIVE_STATUSES))
    return int(session.scalar(query) or 0)


def delete_job(session: Session, *, job_id: str) -> None:
    """Remove a job and its points (used when a submit cannot be queued, so nothing is half-stored)."""
    session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id))
    session.execute(delete(MetricChunk).where(MetricChunk.job_id == job_id))
    session.execute(delete(Job).where(Job.id == job_id))


def get_job(session: Session, *, job_id: str, owner_id: str | None = None) -> Job:
    """One job by id (of this owner, when one is given), or JobNotFound: another's job looks like no job at all."""
    job = session.get(Job, job_id)
    if job is None or (owner_id is not None and job.owner_id != owner_id):
        raise JobNotFound(job_id)
    return job


def list_jobs(
    session: Session, *, status: JobStatus | None, limit: int, cursor: str | None, owner_id: str | None = None
) -> tuple[Sequence[Job], str | None]:
    """Jobs newest first (only this owner's, when one is given), one page at a time, and the next page's cursor."""
    query = select(Job)
    if owner_id is not None:
        query = query.where(Job.owner_id == owner_id)
    if status is not None:
        query = query.where(Job.status == status)
    return newest_first_page(session, query, table=Job, limit=limit, cursor=cursor)


def request_cancel(session: Session, *, job_id: str, owner_id: str | None = None, actor: str | None = None) -> Job:
    """Flag a job for cancel; a queued job ends cancelled at once, a running one when its loop sees the flag."""
    job = get_job(session, job_id=job_id, owner_id=owner_id)
    now = utcnow()
    ended = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", cancel_requested=True, finished_at=now, reason="cancelled")
    )
    if ended.rowcount:  # type: ignore[attr-defined]
        log_event(session, job_id=job_id, status="cancelled", attempt=job.attempt, reason="cancelled", actor=actor)
    flagged = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.cancel_requested.is_(False))
        .values(cancel_requested=True)
    )
    if flagged.rowcount:  # type: ignore[attr-defined]
        log_event(session, job_id=job_id, status="running", attempt=job.attempt, detail="cancel requested", actor=actor)
    session.flush()
    session.expire_all()
    return get_job(session, job_id=job_id)
