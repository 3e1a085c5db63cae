"""Response shapes of the sweep routes (the request shape is core.sweeps.space.SweepSpec)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.states import JobStatus, SweepState
from core.sweeps.controller import trial_value
from core.sweeps.space import SweepSpec
from core.tables import Job, Sweep


class BestTrial(BaseModel):
    """The best complete trial so far."""

    job_id: str
    trial: int | None
    params: dict[str, Any] | None
    value: float


class SweepOut(BaseModel):
    """A sweep as clients see it."""

    id: str
    name: str
    state: SweepState = Field(description="running, succeeded (its last trial ended), stopped, or failed.")
    spec: dict[str, Any] = Field(description="The sweep as resolved: every default filled in; its base as sent.")
    trials: dict[str, int] = Field(description="Its trials counted by job status; `total` counts them all.")
    best: BestTrial | None = Field(description="The best complete trial so far; null before one completes.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, sweep: Sweep, counts: dict[str, int], best: Job | None) -> "SweepOut":
        """The public view of a sweep row, with its trial counts and the job of its best trial."""
        top = None
        if best is not None and sweep.best_value is not None:
            top = BestTrial(job_id=best.id, trial=best.trial, params=best.params, value=sweep.best_value)
        return cls(
            id=sweep.id,
            name=sweep.name,
            state=sweep.state,
            spec=sweep.spec,
            trials={**counts, "total": sum(counts.values())},
            best=top,
            created_at=sweep.created_at,
            finished_at=sweep.finished_at,
        )


class SweepList(BaseModel):
    """Sweeps, newest first."""

    items: list[SweepOut]


class TrialOut(BaseModel):
    """One row of the leaderboard."""

    trial: int
    job_id: str
    params: dict[str, Any]
    value: float | None = Field(description="The objective: its last value, or its best when it stopped early.")
    status: JobStatus
    reason: str | None
    epoch: int = Field(description="Epochs the trial completed.")


class TrialList(BaseModel):
    """A sweep's trials, best first: complete ones by value, then the pruned by value, then the active, then the
    rest, each by number."""

    sweep_id: str
    items: list[TrialOut]


def leaderboard(sweep: Sweep, jobs: Sequence[Job]) -> TrialList:
    """The trials ranked, best first."""
    spec = SweepSpec.model_validate(sweep.spec)
    sign = -1.0 if spec.objective.mode == "max" else 1.0
    rows = [
        TrialOut(
            trial=int(job.trial or 0),
            job_id=job.id,
            params=dict(job.params or {}),
            value=trial_value(job, spec) if job.status == "succeeded" else None,
            status=job.status,
            reason=job.reason,
            epoch=job.epoch,
        )
        for job in jobs
    ]

    def rank(row: TrialOut) -> tuple[int, float, int]:
        if row.value is not None:  # complete trials first, then the pruned (judged on fewer epochs)
            return (1 if row.reason == "pruned" else 0), sign * row.value, row.trial
        return (2 if row.status in ("queued", "running") else 3), 0.0, row.trial

    return TrialList(sweep_id=sweep.id, items=sorted(rows, key=rank))
