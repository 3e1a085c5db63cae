"""A succeeded job's model files: their state (exporting, ready, unavailable) and the bytes the job holds."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.states import ModelStatus
from core.tables import Job


def set_model_state(
    session: Session, *, job_id: str, status: ModelStatus, detail: str | None = None, bytes_held: int | None = None
) -> bool:
    """Record where a succeeded job's model stands; False when the job is gone or did not succeed."""
    values: dict[str, object] = {"model_status": status, "model_detail": detail}
    if bytes_held is not None:
        values["bytes_held"] = bytes_held
    result = session.execute(update(Job).where(Job.id == job_id, Job.status == "succeeded").values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_bytes_held(session: Session, *, job_id: str, bytes_held: int) -> None:
    """Record the bytes of artifacts a job holds in the store."""
    session.execute(update(Job).where(Job.id == job_id).values(bytes_held=bytes_held))


def exporting_jobs(session: Session) -> list[str]:
    """Jobs whose model is still marked as being exported (a reconciler checks whether their worker lives)."""
    return list(session.scalars(select(Job.id).where(Job.model_status == "exporting")))


def abandon_export(session: Session, *, job_id: str, attempt: int, detail: str) -> bool:
    """Mark the model of this attempt's job unavailable if it is still being exported (its worker died doing it)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.model_status == "exporting")
        .values(model_status="unavailable", model_detail=detail)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def abandon_stale_exports(session: Session, *, finished_before: datetime, detail: str) -> list[str]:
    """Mark unavailable the models still being exported of jobs that ended before the cutoff; their ids."""
    stale = (Job.model_status == "exporting", Job.finished_at < finished_before)
    ids = list(session.scalars(select(Job.id).where(*stale)))
    if ids:
        session.execute(
            update(Job).where(Job.id.in_(ids), *stale).values(model_status="unavailable", model_detail=detail)
        )
    return ids
