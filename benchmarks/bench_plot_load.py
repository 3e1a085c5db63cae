"""What plots cost the rest of the API: another user's GET /jobs while one key asks for many large compare plots.

Run: .venv/bin/python -m benchmarks.bench_plot_load   (the API as its own `gradyard api` process, a fresh SQLite file)
"""

import argparse
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from benchmarks.harness import (
    console,
    exit_on_sigterm,
    fresh_database,
    gradyard_api,
    loss_curve,
    percentile,
    record_batches,
    start_job,
    use_database,
    workspace,
    write_results,
)
from core import repository
from core.db import session_scope

JOBS = 12


def _other_user_key() -> str:
    with session_scope() as session:
        return repository.issue_key(session, user_name="other", is_admin=False).key


def _plot_key(i: int) -> str:
    with session_scope() as session:
        return repository.issue_key(session, user_name=f"plotter-{i}", is_admin=True).key


def _list_jobs(http: httpx.Client, *, until: threading.Event | None = None, count: int = 20) -> list[float]:
    """Seconds of each GET /jobs, `count` of them, or as many as fit before `until` is set."""
    seconds = []
    while (until is None and len(seconds) < count) or (until is not None and not until.is_set()):
        start = time.perf_counter()
        http.get("/jobs").raise_for_status()
        seconds.append(time.perf_counter() - start)
    return seconds


def _summary(seconds: list[float]) -> dict[str, Any]:
    return {
        "n": len(seconds),
        "p50_ms": statistics.median(seconds) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "max_ms": max(seconds) * 1000,
    }


def main() -> None:
    """Print GET /jobs latency idle and under the plot load, and what the plot requests got."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=16, help="concurrent compare plots from one key")
    parser.add_argument("--users", type=int, default=1, help="spread the plots over this many keys (admins)")
    parser.add_argument("--epochs", type=int, default=5000, help="points per job's val_loss")
    args = parser.parse_args()
    exit_on_sigterm()
    with workspace("bench-plot-load-") as workdir, fresh_database("sqlite", workdir) as url:
        with use_database(url):
            # Running jobs: their pictures may change, so none is served from the cache.
            ids = []
            for i in range(JOBS):
                job_id, attempt = start_job(name=f"job-{i}", spec={"epochs": args.epochs})
                record_batches(
                    job_id=job_id,
                    attempt=attempt,
                    points=loss_curve(name="val_loss", steps=args.epochs, seed=i),
                    batch=5000,
                )
                ids.append(job_id)
            other_key = _other_user_key()
            plot_keys = [_plot_key(i) for i in range(args.users)]
        with gradyard_api(url, workdir) as admin:
            other = httpx.Client(
                base_url=str(admin.base_url), timeout=600, headers={"Authorization": f"Bearer {other_key}"}
            )
            idle = _list_jobs(other)
            params = {"jobs": ",".join(ids), "metric": "val_loss", "width": 2000, "height": 1500}
            done = threading.Event()
            start = time.perf_counter()
            with ThreadPoolExecutor(args.plots + 1) as pool:
                loaded = pool.submit(_list_jobs, other, until=done)
                plotters = [
                    httpx.Client(base_url=str(admin.base_url), timeout=600, headers={"Authorization": f"Bearer {k}"})
                    for k in plot_keys
                ]
                plots = [
                    pool.submit(plotters[i % len(plotters)].get, "/compare/plot.png", params=params)
                    for i in range(args.plots)
                ]
                statuses = Counter(future.result().status_code for future in plots)
                plots_seconds = time.perf_counter() - start
                done.set()
                busy = loaded.result()
    results = {
        "plots": {"count": args.plots, "users": args.users, "statuses": dict(statuses), "seconds": plots_seconds},
        "get_jobs_idle": _summary(idle),
        "get_jobs_under_plots": _summary(busy),
    }
    out = console()
    out.print(f"{args.plots} compare plots of {JOBS} jobs x {args.epochs} points, 2000x1500 png, {args.users} keys:")
    out.print(f"  answers {dict(statuses)} in {plots_seconds:.2f} s")
    for label in ("get_jobs_idle", "get_jobs_under_plots"):
        row = results[label]
        ms = f"p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, max {row['max_ms']:.1f} ms"
        out.print(f"  {label}: n={row['n']} {ms}")
    out.print(f"numbers in {write_results('plot_load', results)}")


if __name__ == "__main__":
    main()
