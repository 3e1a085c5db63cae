"""The fixed SQL cost of a job, phase by phase, through the worker's own calls (no training): claim, rewind, the
recorder's first write (heartbeat) and last write (an epoch's points), the end, and the check after it.

Run: .venv/bin/python -m benchmarks.bench_fixed_cost --databases sqlite,postgresql --jobs 25

Each phase is timed (p50 over the jobs after the first 3) and its SQL statements counted.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from sqlalchemy import event
from sqlalchemy.engine import Engine

from benchmarks import harness
from core import repository
from core.db import session_scope
from core.metrics import Point
from worker import runner
from worker.recorder import SqlRecorder

SPEC = {"name": "fixed", "dataset": {"name": "digits"}, "model": {"name": "mlp"}, "epochs": 1}
EPOCH_NAMES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_top5_accuracy", "lr")
console = harness.console()


class Phases:
    """Milliseconds and SQL statements of each named phase."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {}
        self.statements: dict[str, int] = {}
        self.current: str | None = None
        event.listen(Engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any, **__: Any) -> None:
        if self.current is not None:
            self.statements[self.current] = self.statements.get(self.current, 0) + 1

    def time(self, name: str, call: Callable[[], Any]) -> Any:
        """Run one phase, timed and counted."""
        self.current, started = name, time.perf_counter()
        try:
            return call()
        finally:
            self.ms.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            self.current = None

    def close(self) -> None:
        """Stop counting."""
        event.remove(Engine, "before_cursor_execute", self._count)


def one_job(phases: Phases) -> None:
    """The SQL of one job's life, as run_job and the recorder make it."""
    with session_scope() as session:
        job_id = repository.create_job(session, name="fixed", spec=SPEC, idempotency_key=None, request_hash=None).id
    claimed = phases.time("claim", lambda: runner._claim(job_id))
    phases.time("rewind", lambda: runner._resume_state(claimed, torch.device("cpu")))
    recorder = SqlRecorder(job_id=job_id, attempt=claimed.attempt, flush_seconds=3600)
    phases.time("first write (heartbeat)", recorder.write_now)
    recorder.record([Point(name, 23, 1, 0.5, 0.1) for name in EPOCH_NAMES], epoch=1, step=23)
    phases.time("last write (an epoch's points)", recorder.write_now)
    phases.time("finish", lambda: runner._finish(claimed, "succeeded", None, None))
    phases.time("has ended", lambda: runner._has_ended(claimed))


def main() -> None:
    """Time the phases on each database and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--databases", default=",".join(harness.DIALECTS), help="sqlite,postgresql")
    parser.add_argument("--jobs", type=int, default=25, help="jobs per database (the first 3 are not counted)")
    args = parser.parse_args()
    with harness.workspace("gradyard-bench-fixed-") as work:
        for dialect in args.databases.split(","):
            phases = Phases()
            (work / dialect).mkdir()
            with harness.fresh_database(dialect, work / dialect) as url, harness.use_database(url):
                for _ in range(args.jobs):
                    one_job(phases)
            phases.close()
            total = 0.0
            for name, samples in phases.ms.items():
                p50 = statistics.median(samples[3:])
                total += p50
                statements = phases.statements.get(name, 0) / len(samples)
                console.print(f"{dialect:10s} {name:32s} p50 {p50:6.2f} ms  {statements:.0f} statements")
            console.print(f"{dialect:10s} {'all phases':32s} p50 {total:6.2f} ms")


if __name__ == "__main__":
    main()
