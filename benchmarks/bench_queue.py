"""Submit throughput and queue latency on the real stack with a warm worker.

Run: make bench-queue   (or .venv/bin/python -m benchmarks.bench_queue --help)

Throughput: tiny jobs (thermometer, 1 epoch) POSTed back to back by one client, then by several concurrent clients;
jobs/s accepted (201). Latency: one job at a time on an idle warm worker, each waited to its end before the next;
POST to `running` from the job's state log (the `queued` and `running` rows' `at`), from the client's clock to the
server's `running` row, and as the client sees it (POST sent to the first GET that no longer shows `queued`, polling
every few ms). Numbers go to test-artifacts/bench/queue.json.
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.stack import bench_stack, export_over, machine, parse_time, percentile, write_results
from tests.e2e.stack import Stack

TINY: dict[str, Any] = {
    "name": "bench-queue-tiny",
    "dataset": {"name": "thermometer", "val_fraction": 0.0},
    "model": {"name": "linear"},
    "loss": {"name": "mse"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "epochs": 1,
    "batch_size": None,
}
POLL_SECONDS = 0.005  # the client-side poll: fast enough to see `running`, slow enough not to starve the worker
console = Console(width=140)


def post(client: httpx.Client) -> str:
    """POST the tiny job; its id (anything but 201 is an error)."""
    response = client.post("/jobs", json=TINY)
    if response.status_code != 201:
        raise RuntimeError(f"POST /jobs answered {response.status_code}: {response.text}")
    return str(response.json()["id"])


def sequential(stack: Stack, *, jobs: int) -> dict[str, Any]:
    """One client POSTing back to back: jobs/s and each POST's round trip."""
    times = []
    start = time.perf_counter()
    for _ in range(jobs):
        sent = time.perf_counter()
        post(stack.http)
        times.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - start
    return {"clients": 1, "jobs": jobs, "seconds": elapsed, "jobs_per_s": jobs / elapsed, "post_s": times}


def concurrent(stack: Stack, *, jobs: int, clients: int) -> dict[str, Any]:
    """Several clients, each its own connection, POSTing `jobs` in all: jobs/s and each POST's round trip."""
    headers = {"Authorization": f"Bearer {stack.key}"}
    pool = [httpx.Client(base_url=stack.url, timeout=30, headers=headers) for _ in range(clients)]

    def one(i: int) -> float:
        sent = time.perf_counter()
        post(pool[i % clients])
        return time.perf_counter() - sent

    try:
        with ThreadPoolExecutor(max_workers=clients) as executor:
            start = time.perf_counter()
            times = list(executor.map(one, range(jobs)))
            elapsed = time.perf_counter() - start
    finally:
        for client in pool:
            client.close()
    return {"clients": clients, "jobs": jobs, "seconds": elapsed, "jobs_per_s": jobs / elapsed, "post_s": times}


def drain(stack: Stack, *, timeout: float = 600.0) -> float:
    """Wait until no job is queued or running; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        busy = [
            stack.http.get("/jobs", params={"status": s, "limit": 1}).json()["items"] for s in ("queued", "running")
        ]
        if not any(busy):
            return time.monotonic() - start
        time.sleep(0.2)
    raise RuntimeError(f"the queue did not drain in {timeout}s\n{stack.log_tail()}")


def one_latency(stack: Stack) -> dict[str, float]:
    """Submit one job on an idle worker, watch it leave `queued`, wait for its end; its latencies in seconds."""
    sent_wall, sent = time.time(), time.perf_counter()
    job_id = post(stack.http)
    posted = time.perf_counter()
    while (status := stack.job(job_id)["status"]) == "queued":
        time.sleep(POLL_SECONDS)
    seen = time.perf_counter()
    job = stack.job(job_id)
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.02)
        job = stack.job(job_id)
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job['error']}")
    job = export_over(stack, job_id)  # the worker is idle only once the model export after the job's end is over
    at = {event["status"]: parse_time(event["at"]) for event in job["events"] if event["attempt"] <= 1}
    return {
        "post_s": posted - sent,
        "events_queued_to_running_s": at["running"] - at["queued"],
        "client_send_to_running_row_s": at["running"] - sent_wall,
        "client_seen_s": seen - sent,
        "first_status_seen_running": float(status == "running"),
        "run_s": at["succeeded"] - at["running"],
    }


def latency(stack: Stack, *, jobs: int) -> list[dict[str, float]]:
    """`jobs` latencies, one job at a time."""
    return [one_latency(stack) for _ in range(jobs)]


def throughput_table(runs: list[dict[str, Any]]) -> Table:
    """Jobs/s accepted, with the POST round trip's p50/p95."""
    table = Table(title="Submit throughput: POST /jobs of a tiny job, 201s per second")
    for column in ("clients", "jobs", "seconds", "jobs/s", "POST p50 ms", "POST p95 ms"):
        table.add_column(column, justify="right")
    for run in runs:
        p50, p95 = (1000 * percentile(run["post_s"], f) for f in (0.5, 0.95))
        table.add_row(
            str(run["clients"]),
            str(run["jobs"]),
            f"{run['seconds']:.2f}",
            f"{run['jobs_per_s']:.1f}",
            f"{p50:.1f}",
            f"{p95:.1f}",
        )
    return table


LATENCY_ROWS = {
    "post_s": "POST round trip (client)",
    "events_queued_to_running_s": "state log: queued.at to running.at",
    "client_send_to_running_row_s": "POST sent (client clock) to running.at",
    "client_seen_s": "POST sent to first GET past queued (client)",
    "run_s": "the job itself: running.at to succeeded.at",
}


def latency_table(samples: list[dict[str, float]]) -> Table:
    """p50/p95/max of each latency, against the 100 ms p50 target."""
    table = Table(
        title=f"Queue latency on a warm idle worker, {len(samples)} jobs one at a time (target: p50 < 100 ms)"
    )
    for column in ("measure", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for key, label in LATENCY_ROWS.items():
        values = [s[key] for s in samples]
        table.add_row(
            label, *(f"{1000 * v:.1f}" for v in (percentile(values, 0.5), percentile(values, 0.95), max(values)))
        )
    seen_running = sum(s["first_status_seen_running"] for s in samples)
    table.caption = f"the first status past queued was `running` for {seen_running:.0f} of {len(samples)} jobs"
    return table


def main() -> None:
    """Start the stack, warm it, measure, print, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=100, help="jobs per throughput run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the second throughput run")
    parser.add_argument("--latency-jobs", type=int, default=30, help="jobs in the latency run")
    args = parser.parse_args()
    with bench_stack() as stack:
        console.log("stack up; warming the worker with a throwaway job")
        stack.wait(post(stack.http), timeout=120)
        runs = [sequential(stack, jobs=args.jobs)]
        console.log(f"sequential: {runs[-1]['jobs_per_s']:.1f} jobs/s; worker draining")
        drained = [drain(stack)]
        runs.append(concurrent(stack, jobs=args.jobs, clients=args.clients))
        console.log(f"{args.clients} clients: {runs[-1]['jobs_per_s']:.1f} jobs/s; worker draining")
        drained.append(drain(stack))
        samples = latency(stack, jobs=args.latency_jobs)
    console.print(throughput_table(runs))
    console.print(latency_table(samples))
    p50 = percentile([s["events_queued_to_running_s"] for s in samples], 0.5)
    console.print(
        f"queue latency p50 (state log): {1000 * p50:.1f} ms: target under 100 ms {'met' if p50 < 0.1 else 'MISSED'}"
    )
    results = {"machine": machine(), "throughput": runs, "drain_s": drained, "latency": samples}
    console.print(f"numbers written to {write_results('queue', results)}")


if __name__ == "__main__":
    main()
