"""Response shapes of the API (the request shape is core.spec.JobSpec)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.states import JobStatus
from core.tables import Job, JobEvent
from service.model_schemas import ModelOut


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


class JobEventOut(BaseModel):
    """One transition of the job's state log."""

    at: datetime
    status: JobStatus
    attempt: int
    reason: str | None
    detail: str | None
    actor: str | None = Field(description="The user who asked for this transition (submit, cancel), if a person did.")


class JobOut(BaseModel):
    """A job as clients see it."""

    id: str
    name: str
    status: JobStatus
    spec: dict[str, Any] = Field(description="The spec as resolved: every default filled in, names canonical.")
    attempt: int
    cancel_requested: bool
    error: str | None
    reason: str | None = Field(
        description="Why it ended or was requeued: stopped_early, pruned (a sweep's trial), diverged, timed_out, "
        "worker_lost, out_of_memory, error, cancelled, shutdown, preempted (handed back for a high-priority job)."
    )
    restarts: int = Field(description="Times the job was started again after its worker was lost.")
    checkpoint_step: int | None = Field(description="Step of the newest complete checkpoint.")
    progress: Progress
    metrics: dict[str, MetricSummary]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    events: list[JobEventOut] | None = Field(
        default=None, description="The state log, oldest first (on GET /jobs/{id}; null in lists)."
    )
    sweep_id: str | None = Field(default=None, description="The sweep this job is a trial of; null for a lone job.")
    trial: int | None = Field(default=None, description="Its trial number in that sweep.")
    params: dict[str, Any] | None = Field(default=None, description="The values the sweep chose for it, by path.")
    model: ModelOut | None = Field(description="The trained model: null until the job has succeeded.")
    rerun_of: str | None = Field(description="The job this one reruns (POST /jobs/{id}/rerun), if it is a rerun.")
    bytes_held: int = Field(description="Bytes of artifacts (checkpoints, model files) the job keeps in the store.")
    worker_id: str | None = Field(
        default=None, description="The worker that claimed its latest attempt (GET /workers); null before."
    )

    @classmethod
    def of(cls, job: Job, events: Sequence[JobEvent] | None = None) -> "JobOut":
        """The public view of a job row."""
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            spec=job.spec,
            attempt=job.attempt,
            cancel_requested=job.cancel_requested,
            error=job.error,
            reason=job.reason,
            restarts=job.restarts,
            checkpoint_step=job.checkpoint_step,
            progress=Progress(epoch=job.epoch, epochs=int(job.spec["epochs"]), step=job.step),
            metrics={name: MetricSummary(**entry) for name, entry in (job.summary or {}).items()},
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            sweep_id=job.sweep_id,
            trial=job.trial,
            params=job.params,
            model=ModelOut.of(job),
            rerun_of=job.rerun_of,
            bytes_held=job.bytes_held,
            worker_id=job.worker_id,
            events=None
            if events is None
            else [
                JobEventOut(
                    at=e.at, status=e.status, attempt=e.attempt, reason=e.reason, detail=e.detail, actor=e.actor
                )
                for e in events
            ],
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


class CatalogEntry(BaseModel):
    """One component a spec may name, with its parameters."""

    name: str
    aliases: list[str] = Field(description="Other names it answers to (PyTorch's class names).")
    description: str
    tasks: list[str] = Field(description="The tasks it serves.")
    parameters: dict[str, dict[str, Any]] = Field(description="Each parameter's JSON Schema: type, default, bounds.")
    inputs: list[str] | None = Field(
        default=None, description="Datasets: the inputs they give; models: the inputs they take. Absent otherwise."
    )


class Catalog(BaseModel):
    """Every component a spec may name, by kind."""

    datasets: list[CatalogEntry]
    models: list[CatalogEntry]
    losses: list[CatalogEntry]
    optimizers: list[CatalogEntry]
    schedulers: list[CatalogEntry]


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class StreamMetrics(BaseModel):
    """The data of a `metrics` event: the new points of each series, through `step`."""

    step: int = Field(description="The job's progress these points reach; resume after it.")
    metrics: dict[str, SeriesOut]


class StreamRewind(BaseModel):
    """The data of a `rewind` event: a later attempt resumed from this step; drop the points after it."""

    step: int


class StreamEnd(BaseModel):
    """The data of an `end` event, the last one: the job is over."""

    status: JobStatus
    reason: str | None
    error: str | None


# Each event the stream of GET /jobs/{id}/events sends, and the shape of its JSON data line.
STREAM_EVENTS: dict[str, type[BaseModel]] = {
    "status": JobEventOut,
    "metrics": StreamMetrics,
    "rewind": StreamRewind,
    "end": StreamEnd,
}
