"""The hook a trial's training loop calls at each epoch's end: store the objective, learn whether to stop. Built
once per attempt (the sweep's spec read once); a job that is no trial, or a sweep that prunes nothing, gets none and
pays nothing."""

import logging
import math
import time

from sqlalchemy.exc import SQLAlchemyError

from core.db import session_scope
from core.repository import sweeps as sweeps_sql
from core.sweeps.pruning import should_prune
from core.sweeps.space import SweepSpec

log = logging.getLogger(__name__)


class EpochJudge:
    """Reports a trial's objective at an epoch's end and answers whether its sweep's pruner stops it there."""

    def __init__(self, *, job_id: str, sweep_id: str, spec: SweepSpec) -> None:
        self.job_id, self.sweep_id, self.spec = job_id, sweep_id, spec
        self.seconds: list[float] = []  # each judgment's time, for the logs and the benchmark

    def __call__(self, epoch: int, synced: dict[str, float]) -> bool:
        """True when the trial stops after this epoch, pruned."""
        value = synced.get(self.spec.objective.metric)
        if value is None:
            return False
        started = time.perf_counter()
        try:
            with session_scope() as session:
                rows = sweeps_sql.report_and_read(
                    session,
                    job_id=self.job_id,
                    sweep_id=self.sweep_id,
                    epoch=epoch,
                    value=value if math.isfinite(value) else None,
                )
        except SQLAlchemyError as exc:  # an outage costs the trial its pruning at this epoch, never its training
            log.warning("job %s: epoch %s not reported to its sweep: %s", self.job_id, epoch, exc)
            return False
        pruned = should_prune(self.spec, rows, job_id=self.job_id, epoch=epoch)
        self.seconds.append(time.perf_counter() - started)
        return pruned

    def log_summary(self) -> None:
        """Log how long the epoch reports took (the round trip and the pruner's judgment)."""
        if self.seconds:
            ms = sorted(1000 * s for s in self.seconds)
            p50 = ms[len(ms) // 2]
            log.info("job %s: %d epoch reports to sweep %s, p50 %.1f ms, max %.1f ms", self.job_id, len(ms),
                     self.sweep_id, p50, ms[-1])  # fmt: skip


def judge_for(job_id: str, sweep_id: str | None) -> EpochJudge | None:
    """The epoch hook of this job, or None when it is no trial or its sweep prunes nothing."""
    if sweep_id is None:
        return None
    with session_scope() as session:
        spec = SweepSpec.model_validate(sweeps_sql.get_sweep(session, sweep_id=sweep_id).spec)
    return None if spec.pruner == "none" else EpochJudge(job_id=job_id, sweep_id=sweep_id, spec=spec)
