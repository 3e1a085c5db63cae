"""The job state log: one row per transition, written in the same transaction as the transition."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.states import EndReason, JobStatus
from core.tables import JobEvent
from core.timeutil import utcnow


def log_event(
    session: Session,
    *,
    job_id: str,
    status: JobStatus,
    attempt: int,
    reason: EndReason | None = None,
    detail: str | None = None,
    actor: str | None = None,
    step: int | None = None,
) -> None:
    """Add one transition to a job's state log, with who asked for it when a person did (and, for a later attempt's
    claim, the step its history goes back to)."""
    session.add(
        JobEvent(
            job_id=job_id,
            at=utcnow(),
            status=status,
            attempt=attempt,
            reason=reason,
            detail=detail,
            actor=actor,
            step=step,
        )
    )


def job_events(session: Session, *, job_id: str) -> Sequence[JobEvent]:
    """A job's state log, oldest first."""
    return session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)).all()


def job_events_after(session: Session, *, job_id: str, after_id: int) -> Sequence[JobEvent]:
    """The rows of a job's state log written after the row `after_id`, oldest first."""
    query = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.id > after_id).order_by(JobEvent.id)
    return session.scalars(query).all()
