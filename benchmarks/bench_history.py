"""Reading one metric history over HTTP: gradyard's API (SQLite and PostgreSQL) beside MLflow's tracking server.

Run: make bench-history   (or .venv/bin/python -m benchmarks.bench_history --sizes 1e4,1e5)

For each size N, one series `train_loss` with steps 1..N is written into a fresh database through the worker's own
write path (create, claim, record_progress in batches, finish), and the same points into MLflow through log-batch.
Then the real API process (`gradyard api`, uvicorn) and `mlflow server` are read over keep-alive HTTP: p50 and p95
of repeated calls after a warm-up, and the response size. Then the history into a pandas DataFrame through each
Python client (benchmarks.frames): gradyard's `metrics(as_frame=True)` (Arrow) beside MlflowClient.get_metric_history.
"""

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
from rich.table import Table

from benchmarks import frames, harness
from benchmarks.harness import Mlflow, Timing
from core.metrics import Point
from service.arrow_history import ARROW_TYPE

NAME = "train_loss"
DOWNSAMPLED = 1000
MLFLOW_INTERVAL_MAX = 2500  # get-history-bulk-interval's max_results limit
console = harness.console()


@dataclass(frozen=True)
class Read:
    """One way of reading the history: a label and the API's query parameters for a series of n points."""

    label: str
    params: Callable[[int], dict[str, Any]]


READS = (
    Read("full", lambda n: {}),
    Read(f"max_points={DOWNSAMPLED}", lambda n: {"max_points": DOWNSAMPLED}),
    Read(f"names={NAME}", lambda n: {"names": NAME}),
    Read("after_step (last 1%)", lambda n: {"after_step": n - n // 100}),
    Read("full, Arrow stream", lambda n: {"format": "arrow"}),
)
# Every row of the table: the HTTP reads, then the history into Python through the client (MLflow: its client's
# get_metric_history into a DataFrame, beside our Arrow frame).
LABELS = (*(read.label for read in READS), *frames.LABELS)


def gradyard_sized(response: httpx.Response) -> tuple[int, int]:
    """The body's size and how many points of the series it carries."""
    response.raise_for_status()
    if response.headers["content-type"] == ARROW_TYPE:
        return len(response.content), pa.ipc.open_stream(response.content).read_all().num_rows
    series = orjson.loads(response.content)["metrics"].get(NAME, {"step": []})
    return len(response.content), len(series["step"])


def bench_gradyard(
    dialect: str, curves: dict[int, list[Point]], work: Path, *, batch: int, budget_s: float
) -> dict[tuple[int, str], Timing]:
    """Seed one job per size into a fresh database of this dialect, start the API on it, time every read."""
    results: dict[tuple[int, str], Timing] = {}
    work.mkdir()
    with harness.fresh_database(dialect, work) as url:
        with harness.use_database(url):
            jobs = {}
            for n, points in curves.items():
                started = time.perf_counter()
                jobs[n] = harness.seed_job(name=f"bench-{n}", points=points, batch=batch)
                console.log(f"gradyard {dialect}: seeded {n:,} points in {time.perf_counter() - started:.1f} s")
        with harness.gradyard_api(url, work) as http:
            for n, job_id in jobs.items():
                for read in READS:
                    get = partial(http.get, f"/jobs/{job_id}/metrics", params=read.params(n))
                    timing = harness.measure(get, sized=gradyard_sized, budget_s=budget_s)
                    results[n, read.label] = timing
                    console.log(
                        f"gradyard {dialect} {n:,} {read.label}: p50 {timing.p50:.1f} ms ({timing.points:,} points)"
                    )
                frames.check_same_frame(http, job_id, name=NAME)
                for label, timing in frames.bench_client(http, job_id, name=NAME, budget_s=budget_s).items():
                    results[n, label] = timing
                    console.log(f"gradyard {dialect} {n:,} {label}: p50 {timing.p50:.1f} ms ({timing.points:,} rows)")
    return results


# Above this size MLflow is seeded partly by SQL (see harness.Mlflow.seed_points); its reads are timed the same way.
MLFLOW_API_SEED = 100_000


def bench_mlflow(
    curves: dict[int, list[Point]], work: Path, *, budget_s: float, workers: int
) -> tuple[dict[tuple[int, str], Timing | None], dict[int, float]]:
    """Log each size into its own MLflow run, then time MLflow's closest equivalent of every read."""
    results: dict[tuple[int, str], Timing | None] = {}
    log_seconds: dict[int, float] = {}
    with harness.mlflow_server(work, workers=workers) as mlflow:
        runs = {}
        for n, points in curves.items():
            started = time.perf_counter()
            runs[n] = mlflow.create_run(name=f"bench-{n}")
            if n <= MLFLOW_API_SEED:
                mlflow.log_points(run_id=runs[n], points=points)
            else:
                mlflow.seed_points(run_id=runs[n], points=points, through_api=MLFLOW_API_SEED)
            log_seconds[n] = time.perf_counter() - started
            how = (
                "through log-batch"
                if n <= MLFLOW_API_SEED
                else f"({MLFLOW_API_SEED:,} through log-batch, the rest by SQL)"
            )
            console.log(f"MLflow: logged {n:,} points {how} in {log_seconds[n]:.1f} s")
        for n, run_id in runs.items():
            for read in READS:
                results[n, read.label] = mlflow_read(mlflow, run_id, n, read.label, results, budget_s=budget_s)
                if (timing := results[n, read.label]) is not None:
                    console.log(f"MLflow {n:,} {read.label}: p50 {timing.p50:.1f} ms ({timing.points:,} points)")
            base = str(mlflow.http.base_url)
            results[n, frames.ARROW_FRAME] = frames.bench_mlflow_client(base, run_id, name=NAME, budget_s=budget_s)
            if (timing := results[n, frames.ARROW_FRAME]) is not None:
                console.log(f"MlflowClient {n:,} into a DataFrame: p50 {timing.p50:.1f} ms ({timing.points:,} rows)")
    return results, log_seconds


def mlflow_read(
    mlflow: Mlflow, run_id: str, n: int, label: str, done: dict[tuple[int, str], Timing | None], *, budget_s: float
) -> Timing | None:
    """MLflow's equivalent of one read: get-history for full reads, get-history-bulk-interval for sampled and
    step-range reads (None where MLflow has no exact equivalent)."""

    def identity(sized: tuple[int, int]) -> tuple[int, int]:
        return sized

    if label == "full":
        return harness.measure(lambda: mlflow.history(run_id=run_id, key=NAME), sized=identity, budget_s=budget_s)
    if label.startswith(("names=", "full, Arrow")):
        return done[n, "full"]  # get-history always reads one key, as JSON: the same call as "full"
    if label.startswith("max_points="):
        call = lambda: mlflow.interval(run_id=run_id, key=NAME, max_results=DOWNSAMPLED)  # noqa: E731
        return harness.measure(call, sized=identity, budget_s=budget_s)
    tail = n // 100
    if tail > MLFLOW_INTERVAL_MAX:
        return None  # bulk-interval would sample the range; get-history has no step filter
    steps = (n - tail + 1, n)
    call = lambda: mlflow.interval(run_id=run_id, key=NAME, max_results=max(tail, 1), steps=steps)  # noqa: E731
    return harness.measure(call, sized=identity, budget_s=budget_s)


def render(
    sizes: list[int],
    gradyard: dict[str, dict[tuple[int, str], Timing]],
    mlflow: dict[tuple[int, str], Timing | None],
    caption: str,
) -> Table:
    """The table: one row per database, size and read."""
    table = Table(title="GET /jobs/{id}/metrics vs MLflow get-history (one series)", caption=caption)
    for column in ("database", "points", "read", "p50 ms", "p95 ms", "n", "bytes"):
        table.add_column(column, justify="left" if column in ("database", "read") else "right")
    for column in ("MLflow p50", "MLflow p95", "n", "MLflow bytes", "MLflow/gradyard p50"):
        table.add_column(column, justify="right")
    for dialect, timings in gradyard.items():
        for n in sizes:
            for label in LABELS:
                ours, theirs = timings[n, label], mlflow.get((n, label))
                table.add_row(
                    dialect,
                    f"{n:,}",
                    label,
                    f"{ours.p50:,.1f}",
                    f"{ours.p95:,.1f}",
                    str(len(ours.samples_ms)),
                    f"{ours.size_bytes:,}",
                    "-" if theirs is None else f"{theirs.p50:,.1f}",
                    "-" if theirs is None else f"{theirs.p95:,.1f}",
                    "-" if theirs is None else str(len(theirs.samples_ms)),
                    "-" if theirs is None else f"{theirs.size_bytes:,}",
                    harness.times(None if theirs is None else theirs.p50, ours.p50),
                )
        table.add_section()
    return table


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6", help="points per series, comma-separated (1e4,1e5,1e6)")
    parser.add_argument("--databases", default=",".join(harness.DIALECTS), help="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=1000, help="points per record_progress call when seeding")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds of repeats per gradyard read (max 30)")
    parser.add_argument("--mlflow-budget", type=float, default=15.0, help="seconds of repeats per MLflow read")
    parser.add_argument("--mlflow-workers", type=int, default=1, help="mlflow server --workers")
    parser.add_argument("--no-mlflow", action="store_true", help="gradyard only")
    return parser.parse_args()


def main() -> None:
    """Seed, measure, print the table, write test-artifacts/bench/history.json."""
    args = parse_args()
    harness.exit_on_sigterm()
    sizes = harness.parse_sizes(args.sizes)
    curves = {n: harness.loss_curve(name=NAME, steps=n) for n in sizes}
    gradyard: dict[str, dict[tuple[int, str], Timing]] = {}
    mlflow: dict[tuple[int, str], Timing | None] = {}
    mlflow_log_s: dict[int, float] = {}
    with harness.workspace("gradyard-bench-history-") as work:
        for dialect in args.databases.split(","):
            gradyard[dialect] = bench_gradyard(dialect, curves, work / dialect, batch=args.batch, budget_s=args.budget)
        if not args.no_mlflow:
            mlflow, mlflow_log_s = bench_mlflow(
                curves, work / "mlflow", budget_s=args.mlflow_budget, workers=args.mlflow_workers
            )
    caption = (
        f"repeats after one warm-up: as many as fit {args.budget:g} s (gradyard) or {args.mlflow_budget:g} s (MLflow),"
        f" 1 to 30. MLflow {harness.mlflow_version()}, SQLite store, {args.mlflow_workers} worker(s): get-history in"
        f" pages of {harness.MLFLOW_PAGE:,}; max_points and after_step rows use get-history-bulk-interval"
        f" (after_step only where the tail fits its {MLFLOW_INTERVAL_MAX:,} limit); names= is get-history again."
    )
    console.print(render(sizes, gradyard, mlflow, caption))
    rows = [
        {
            "database": dialect,
            "points": n,
            "read": label,
            "gradyard": timings[n, label].as_json(),
            "mlflow": None if (m := mlflow.get((n, label))) is None else m.as_json(),
        }
        for dialect, timings in gradyard.items()
        for n in sizes
        for label in LABELS
    ]
    path = harness.write_results(
        "history",
        {
            "mlflow_version": harness.mlflow_version(),
            "mlflow_log_batch_seconds": mlflow_log_s,
            "args": vars(args),
            "rows": rows,
        },
    )
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
