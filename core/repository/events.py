"""The job state log: one row per transition, written in the same transaction as the transition."""

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import JobEvent
from core.timeutil import utcnow

_RESUME = re.compile(r"resuming from step ([0-9]+)")


def log_event(
    session: Session,
    *,
    job_id: str,
    status: str,
    attempt: int,
    reason: str | None = None,
    detail: str | None = None,
    actor: str | None = None,
) -> None:
    """Add one transition to a job's state log, with who asked for it when a person did."""
    session.add(
        JobEvent(job_id=job_id, at=utcnow(), status=status, attempt=attempt, reason=reason, detail=detail, actor=actor)
    )


def job_events(session: Session, *, job_id: str) -> Sequence[JobEvent]:
    """A job's state log, oldest first."""
    return session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)).all()


def job_events_after(session: Session, *, job_id: str, after_id: int) -> Sequence[JobEvent]:
    """The rows of a job's state log written after the row `after_id`, oldest first."""
    query = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.id > after_id).order_by(JobEvent.id)
    return session.scalars(query).all()


def resume_detail(*, step: int) -> str:
    """The state-log detail of a claim that starts a later attempt: the step its history went back to."""
    return f"resuming from step {step}"


def resumed_from(event: JobEvent) -> int | None:
    """The step a later attempt's history went back to, for the row that started it; None for any other row."""
    if event.status != "running" or event.detail is None:
        return None
    match = _RESUME.fullmatch(event.detail)
    return int(match.group(1)) if match else None
