"""Response shapes of the API (the request shape is core.spec.JobSpec)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.models import Job

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Progress(BaseModel):
    """How far a job has come."""

    epoch: int = Field(description="Epochs completed.")
    epochs: int = Field(description="Epochs the spec asks for.")
    step: int = Field(description="Optimizer steps taken.")


class MetricSummary(BaseModel):
    """One metric at a glance, kept up to date as points land."""

    count: int
    last: float | None = None
    last_step: int | None = None
    min: float | None = None
    max: float | None = None
    best: float | None = None
    best_step: int | None = None


class JobOut(BaseModel):
    """A job as clients see it."""

    id: str
    name: str
    status: JobStatus
    spec: dict[str, Any] = Field(description="The spec as resolved: every default filled in, names canonical.")
    attempt: int
    cancel_requested: bool
    error: str | None
    progress: Progress
    metrics: dict[str, MetricSummary]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> "JobOut":
        """The public view of a job row."""
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            spec=job.spec,
            attempt=job.attempt,
            cancel_requested=job.cancel_requested,
            error=job.error,
            progress=Progress(epoch=job.epoch, epochs=int(job.spec["epochs"]), step=job.step),
            metrics={name: MetricSummary(**entry) for name, entry in (job.summary or {}).items()},
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class JobList(BaseModel):
    """One page of jobs, newest first."""

    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SeriesOut(BaseModel):
    """One metric's history as parallel arrays."""

    step: list[int]
    epoch: list[int]
    value: list[float | None]
    time: list[float]


class MetricsOut(BaseModel):
    """A job's metric history, one columnar series per metric."""

    job_id: str
    status: JobStatus
    metrics: dict[str, SeriesOut]


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
