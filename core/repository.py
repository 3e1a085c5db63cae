"""Every SQL statement gradyard runs. Routes and tasks call these named functions, never SQL of their own."""

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.errors import InvalidCursor, JobNotFound, StaleAttempt
from core.metrics import Point, Series, merge_summary
from core.models import Job, MetricPoint
from core.timeutil import utcnow


def create_job(
    session: Session, *, name: str, spec: dict[str, Any], idempotency_key: str | None, request_hash: str | None
) -> Job:
    """Add a queued job (flushed, not committed: the caller commits before it enqueues)."""
    job = Job(
        id=str(uuid.uuid4()),
        name=name,
        spec=spec,
        status="queued",
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        summary={},
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def find_job_by_idempotency_key(session: Session, *, key: str) -> Job | None:
    """The job first submitted with this Idempotency-Key, if any."""
    return session.scalars(select(Job).where(Job.idempotency_key == key)).one_or_none()


def delete_job(session: Session, *, job_id: str) -> None:
    """Remove a job and its points (used when a submit cannot be queued, so nothing is half-stored)."""
    session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id))
    session.execute(delete(Job).where(Job.id == job_id))


def get_job(session: Session, *, job_id: str) -> Job:
    """One job by id, or JobNotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def _encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), job_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor(cursor) from exc


def list_jobs(
    session: Session, *, status: str | None, limit: int, cursor: str | None
) -> tuple[Sequence[Job], str | None]:
    """Jobs newest first, one page at a time (keyset pagination), and the cursor of the next page."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    if status is not None:
        query = query.where(Job.status == status)
    if cursor is not None:
        created, job_id = _decode_cursor(cursor)
        query = query.where(tuple_(Job.created_at, Job.id) < tuple_(created, job_id))
    jobs = session.scalars(query).all()
    if len(jobs) > limit:
        return jobs[:limit], _encode_cursor(jobs[limit - 1])
    return jobs, None


def request_cancel(session: Session, *, job_id: str) -> Job:
    """Flag a job for cancel; a queued job ends cancelled at once, a running one when its loop sees the flag."""
    get_job(session, job_id=job_id)
    now = utcnow()
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", cancel_requested=True, finished_at=now)
    )
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(cancel_requested=True))
    session.flush()
    session.expire_all()
    return get_job(session, job_id=job_id)


def claim_job(session: Session, *, job_id: str) -> int | None:
    """Compare-and-set a queued, uncancelled job to running; the new attempt number, or None if the claim lost."""
    now = utcnow()
    attempt = session.scalars(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.cancel_requested.is_(False))
        .values(status="running", attempt=Job.attempt + 1, started_at=now, heartbeat_at=now, error=None)
        .returning(Job.attempt)
    ).one_or_none()
    return attempt


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(MetricPoint).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(MetricPoint).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two databases above are supported
        raise NotImplementedError(f"database '{dialect}' is not supported")
    session.execute(statement, rows)


def record_progress(session: Session, *, job_id: str, attempt: int, points: list[Point], epoch: int, step: int) -> bool:
    """Write a batch of points, the progress, the summary and a heartbeat, fenced by attempt; True if cancel is asked.

    Raises StaleAttempt when this attempt no longer owns the job, so a late worker cannot write over a newer one.
    """
    row = session.execute(
        select(Job.summary, Job.cancel_requested)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == "running")
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise StaleAttempt(f"job {job_id} attempt {attempt} no longer owns the job")
    summary, cancel_requested = row
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt)
        .values(heartbeat_at=utcnow(), epoch=epoch, step=step, summary=merge_summary(summary or {}, points))
    )
    if points:
        _insert_ignoring_duplicates(
            session,
            [
                {"job_id": job_id, "name": p.name, "step": p.step, "epoch": p.epoch, "value": p.value, "time": p.time}
                for p in points
            ],
        )
    return bool(cancel_requested)


def finish_job(session: Session, *, job_id: str, attempt: int, status: str, error: str | None) -> bool:
    """End a running job with a terminal status, fenced by attempt; False when this attempt no longer owns it."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == "running")
        .values(status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def metric_names(session: Session, *, job_id: str) -> list[str]:
    """The names of the metrics a job has recorded."""
    return sorted(session.scalars(select(MetricPoint.name).where(MetricPoint.job_id == job_id).distinct()))


def read_metrics(session: Session, *, job_id: str, names: Sequence[str] | None, after_step: int) -> dict[str, Series]:
    """A job's history as one columnar series per metric, ordered by step, only steps after after_step."""
    query = (
        select(MetricPoint.name, MetricPoint.step, MetricPoint.epoch, MetricPoint.value, MetricPoint.time)
        .where(MetricPoint.job_id == job_id, MetricPoint.step > after_step)
        .order_by(MetricPoint.name, MetricPoint.step)
    )
    if names is not None:
        query = query.where(MetricPoint.name.in_(names))
    series: dict[str, Series] = {}
    for name, step, epoch, value, time in session.execute(query):
        series.setdefault(name, Series()).append(step, epoch, value, time)
    return series
