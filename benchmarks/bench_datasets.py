"""Uploads on the real stack: streaming throughput (sha256 while writing) and the API's memory meanwhile; a
1,000,000-row x 20-column CSV from upload to ready, with the p99 of other requests while it is parsed; then a job on
that table against a job on the same shape of data built in, from POST to the first training step.

`python -m benchmarks.bench_datasets [--mib 256] [--rows 1000000]`; numbers in test-artifacts/bench/datasets.json.
"""

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.harness import console, write_results
from benchmarks.stack import bench_stack, median, parse_time, percentile
from client import Client
from client.errors import ApiError
from tests.e2e.stack import Stack

CHUNK = 1 << 20


def _rss_peak_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _upload(stack: Stack, path: Path) -> tuple[int, dict[str, Any], float]:
    """Upload through the Python client, as `gradyard datasets upload` does; (status, answer, seconds)."""
    started = time.perf_counter()
    with Client(stack.url, stack.key) as client:
        try:
            status, answer = 201, client.upload_dataset(path)
        except ApiError as exc:
            status, answer = exc.status, {"detail": exc.detail}
    return status, answer, time.perf_counter() - started


def _curl_upload(stack: Stack, path: Path) -> tuple[int, float]:
    """Upload with curl (`-F file=@PATH`): the server's side without a Python client's cost; (status, seconds)."""
    started = time.perf_counter()
    form = ["-H", f"Authorization: Bearer {stack.key}", "-F", f"file=@{path}"]
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *form, f"{stack.url}/datasets"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout), time.perf_counter() - started


def streaming(stack: Stack, workdir: Path, mib: int) -> dict[str, Any]:
    """A file of MIB random MiB in a format the server refuses after receiving it: the time is the stream, the hash
    and the write (nothing is parsed or kept)."""
    blob = workdir / "blob.bin"
    with blob.open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(CHUNK))
    api = stack.processes[0].pid
    before = _rss_peak_mib(api)
    status, answer, seconds = _upload(stack, blob)
    assert status == 415, answer
    growth = _rss_peak_mib(api) - before
    curl_status, curl_seconds = _curl_upload(stack, blob)
    assert curl_status == 415, curl_status
    return {
        "mib": mib,
        "seconds": seconds,
        "mb_per_s": mib * CHUNK / 1e6 / seconds,
        "curl_mb_per_s": mib * CHUNK / 1e6 / curl_seconds,
        "api_peak_rss_growth_mib": growth,
    }


def big_csv(stack: Stack, workdir: Path, rows: int) -> dict[str, Any]:
    """ROWS x 20 numbers from upload to ready, with GET /datasets polled meanwhile."""
    rng = np.random.default_rng(0)
    columns = {f"f{i}": rng.normal(size=rows).round(4) for i in range(19)} | {"y": rng.integers(0, 3, rows)}
    path = workdir / "big.csv"
    pacsv.write_csv(pa.table(columns), path)
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.key}"}) as other:
            while not done.is_set():
                started = time.perf_counter()
                other.get("/datasets", params={"limit": 5})
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        status, answer, seconds = _upload(stack, path)
    finally:
        done.set()
        poller.join()
    assert status == 201, answer
    return {
        "dataset_id": answer["id"],
        "rows": rows,
        "mb": path.stat().st_size / 1e6,
        "upload_to_ready_seconds": seconds,
        "other_requests": len(latencies),
        "other_p50_ms": percentile(latencies, 0.5) * 1000,
        "other_p99_ms": percentile(latencies, 0.99) * 1000,
    }


def _to_first_step(stack: Stack, dataset: dict[str, Any]) -> dict[str, float]:
    """POST a one-epoch job on the dataset; seconds from its POST to running, and from running to its first step."""
    spec = {
        "dataset": dataset | {"val_fraction": 0.1},
        "model": "linear",
        "loss": "cross_entropy",
        "optimizer": {"name": "sgd", "lr": 0.01},
        "epochs": 1,
        "batch_size": 4096,
        "log_every_steps": 1,  # a point at step 1: its time is the first step's end, counted from running
    }
    job = stack.wait(stack.submit(spec), timeout=600)
    assert job["status"] == "succeeded", job
    at = {event["status"]: parse_time(event["at"]) for event in job["events"]}
    first = stack.metrics(job["id"], names="train_loss")["metrics"]["train_loss"]["time"][0]
    return {"to_running_s": at["running"] - at["queued"], "running_to_first_step_s": first}


def job_start(stack: Stack, dataset_id: str, rows: int, rounds: int = 3) -> dict[str, Any]:
    """The same job on the uploaded table (its canonical form loaded) and on the same shape generated in the worker,
    alternated after a throwaway job warms the worker; medians of the rounds."""
    upload = {"name": "upload", "id": dataset_id, "target": "y"}
    built_in = {"name": "synthetic_classification", "n_samples": rows, "n_features": 19, "n_classes": 3}
    _to_first_step(stack, built_in | {"n_samples": 1000})  # the worker's first job pays its start-up
    runs: dict[str, list[dict[str, float]]] = {"upload": [], "built_in": []}
    for _ in range(rounds):
        runs["upload"].append(_to_first_step(stack, upload))
        runs["built_in"].append(_to_first_step(stack, built_in))
    medians = {way: {key: median([run[key] for run in done]) for key in done[0]} for way, done in runs.items()}
    total = {way: sum(times.values()) for way, times in medians.items()}
    return medians | {"rounds": rounds, "upload_later_by_s": total["upload"] - total["built_in"]}


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    env = {"GRADYARD_MAX_UPLOAD_BYTES": str(4 << 30), "GRADYARD_MAX_DATASET_BYTES_PER_USER": str(8 << 30)}
    with tempfile.TemporaryDirectory(prefix="gradyard-bench-data-") as tmp, bench_stack(env=env) as stack:
        results = {"streaming": streaming(stack, Path(tmp), args.mib), "csv": big_csv(stack, Path(tmp), args.rows)}
        results["job_start"] = job_start(stack, results["csv"]["dataset_id"], args.rows)
    console().print_json(data=results)
    write_results("datasets", results)


if __name__ == "__main__":
    main()
