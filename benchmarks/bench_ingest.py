"""Points per second from the worker's write path into SQLite and PostgreSQL, beside MLflow's log-batch.

Run: make bench-ingest   (or .venv/bin/python -m benchmarks.bench_ingest --sizes 1e4)

The data: 10 metric names x N steps (default N = 100,000: a million points), in step order as a training loop logs
them. Two ways in, each on a fresh database of each kind:
- `record_progress` called directly, one transaction per batch of --batch-steps steps (the batch the recorder's
  writer thread sends each flush at a high logging rate: 1,000 steps/s with `log_every_steps=1` and the default
  0.5 s flush is 500 steps, 5,000 points);
- `worker.recorder.SqlRecorder` itself: `record()` per step from this thread as fast as it can, its writer thread
  flushing every --flush-seconds, timed from the first `record()` to the end of `close()`.
MLflow gets the same points through `POST /api/2.0/mlflow/runs/log-batch`, 1,000 metrics per call (its limit), for
at most --mlflow-seconds (it is slow; the rate is the points it took over the time it took).
"""

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks import harness
from core import repository
from core.db import session_scope
from core.metrics import METRIC_NAMES, Point
from worker.recorder import SqlRecorder

NAMES = METRIC_NAMES[:10]
console = harness.console()


def training_points(steps: int) -> list[Point]:
    """10 curves of `steps` points each, interleaved step by step as a loop logs them."""
    curves = [harness.loss_curve(name=name, steps=steps) for name in NAMES]
    return [curve[i] for i in range(steps) for curve in curves]


def stored_count(job_id: str) -> int:
    """How many points the job's summary says were written (it is updated in the same transaction as the points)."""
    with session_scope() as session:
        summary = repository.get_job(session, job_id=job_id, owner_id=None).summary or {}
    return sum(int(entry["count"]) for entry in summary.values())


def through_record_progress(points: Sequence[Point], *, batch: int) -> tuple[float, int]:
    """Seconds to write the points in batches through record_progress; the points stored."""
    job_id, attempt = harness.start_job(name="ingest-record-progress")
    started = time.perf_counter()
    harness.record_batches(job_id=job_id, attempt=attempt, points=points, batch=batch)
    seconds = time.perf_counter() - started
    harness.end_job(job_id=job_id, attempt=attempt)
    return seconds, stored_count(job_id)


def through_recorder(points: Sequence[Point], *, flush_seconds: float) -> tuple[float, int]:
    """Seconds from the first SqlRecorder.record() to the end of close(); the points stored."""
    job_id, attempt = harness.start_job(name="ingest-recorder")
    recorder = SqlRecorder(job_id=job_id, attempt=attempt, flush_seconds=flush_seconds).start()
    per_step = len(NAMES)
    started = time.perf_counter()
    try:
        for lo in range(0, len(points), per_step):
            step_points = list(points[lo : lo + per_step])
            recorder.record(step_points, epoch=step_points[0].epoch, step=step_points[0].step)
    finally:
        recorder.close()
    seconds = time.perf_counter() - started
    harness.end_job(job_id=job_id, attempt=attempt)
    return seconds, stored_count(job_id)


def bench_gradyard(dialect: str, points: list[Point], work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Both write paths on a fresh database of this dialect."""
    work.mkdir(parents=True)
    rows = []
    batch, flush = args.batch_steps * len(NAMES), args.flush_seconds
    with harness.fresh_database(dialect, work) as url, harness.use_database(url):
        paths: list[tuple[str, Callable[[], tuple[float, int]]]] = [
            (f"record_progress, {batch:,}-point batches", partial(through_record_progress, points, batch=batch)),
            (f"SqlRecorder, {flush:g} s flush", partial(through_recorder, points, flush_seconds=flush)),
        ]
        for path, run in paths:
            seconds, stored = run()
            if stored != len(points):
                raise RuntimeError(f"{dialect} {path}: {stored:,} points stored of {len(points):,}")
            rows.append({"database": dialect, "path": path, "points": stored, "seconds": seconds})
            console.log(f"{dialect} {path}: {stored:,} points in {seconds:.2f} s ({stored / seconds:,.0f}/s)")
    return rows


def bench_mlflow(points: list[Point], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """log-batch calls of 1,000 metrics until the points or the time budget run out."""
    with harness.mlflow_server(work, workers=args.mlflow_workers) as mlflow:
        run_id = mlflow.create_run(name="ingest")
        logged, started = 0, time.perf_counter()
        while logged < len(points) and time.perf_counter() - started < args.mlflow_seconds:
            chunk = points[logged : logged + harness.MLFLOW_BATCH]
            mlflow.log_points(run_id=run_id, points=chunk)
            logged += len(chunk)
        seconds = time.perf_counter() - started
    console.log(f"MLflow log-batch: {logged:,} points in {seconds:.2f} s ({logged / seconds:,.0f}/s)")
    return {"points": logged, "of": len(points), "seconds": seconds}


def render(rows: list[dict[str, Any]], mlflow: dict[int, dict[str, Any]], caption: str) -> Table:
    """One row per size, database and write path, with MLflow's rate on the same data beside it."""
    table = Table(title="Ingestion: points/s from the worker's write path vs MLflow log-batch", caption=caption)
    for column in ("database", "write path", "points", "seconds", "points/s", "MLflow points/s", "gradyard/MLflow"):
        table.add_column(column, justify="left" if column in ("database", "write path") else "right")
    for row in rows:
        rate = row["points"] / row["seconds"]
        theirs = mlflow.get(row["steps"])
        their_rate = None if theirs is None else theirs["points"] / theirs["seconds"]
        table.add_row(
            row["database"],
            row["path"],
            f"{row['points']:,}",
            f"{row['seconds']:.2f}",
            f"{rate:,.0f}",
            "-" if their_rate is None else f"{their_rate:,.0f}",
            harness.times(rate, their_rate),
        )
    return table


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5", help="steps per metric (10 metrics), comma-separated")
    parser.add_argument("--databases", default=",".join(harness.DIALECTS), help="sqlite,postgresql")
    parser.add_argument("--batch-steps", type=int, default=500, help="steps per record_progress batch")
    parser.add_argument("--flush-seconds", type=float, default=0.5, help="the recorder's flush interval")
    parser.add_argument("--mlflow-seconds", type=float, default=120.0, help="most seconds of MLflow log-batch calls")
    parser.add_argument("--mlflow-workers", type=int, default=1, help="mlflow server --workers")
    parser.add_argument("--no-mlflow", action="store_true", help="gradyard only")
    return parser.parse_args()


def main() -> None:
    """Write, time, print the table, write test-artifacts/bench/ingest.json."""
    args = parse_args()
    harness.exit_on_sigterm()
    rows: list[dict[str, Any]] = []
    mlflow: dict[int, dict[str, Any]] = {}
    with harness.workspace("gradyard-bench-ingest-") as work:
        for steps in harness.parse_sizes(args.sizes):
            points = training_points(steps)
            for dialect in args.databases.split(","):
                for row in bench_gradyard(dialect, points, work / f"{dialect}-{steps}", args):
                    rows.append(row | {"steps": steps, "points_per_s": row["points"] / row["seconds"]})
            if not args.no_mlflow:
                mlflow[steps] = bench_mlflow(points, work / f"mlflow-{steps}", args)
                mlflow[steps]["points_per_s"] = mlflow[steps]["points"] / mlflow[steps]["seconds"]
    caption = (
        f"{len(NAMES)} metrics x N steps. MLflow {harness.mlflow_version()}, SQLite store, {args.mlflow_workers}"
        f" worker(s), sequential log-batch calls of {harness.MLFLOW_BATCH:,} metrics for at most"
        f" {args.mlflow_seconds:g} s; it took "
        + ", ".join(f"{m['points']:,} of {m['of']:,} points in {m['seconds']:.0f} s" for m in mlflow.values())
    )
    console.print(render(rows, mlflow, caption))
    result = {"mlflow_version": harness.mlflow_version(), "args": vars(args), "rows": rows, "mlflow": mlflow}
    console.print(f"wrote {harness.write_results('ingest', result)}")


if __name__ == "__main__":
    main()
