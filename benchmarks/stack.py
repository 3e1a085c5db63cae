"""The stack a benchmark measures: a private Redis, a fresh SQLite database, the API and one worker as processes.

Everything it starts is stopped, and its directory removed, when the `with` block ends: on success, on an error, on
Ctrl-C, and on SIGTERM (turned into SystemExit so the same cleanup runs).
"""

import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from cli.redis_server import start_redis
from core.migrate import upgrade_to_head
from tests.e2e.stack import Stack, launch_stack

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "bench"
# Benchmarks submit and poll far more than a person: the per-user limits would only measure themselves.
BENCH_ENV = {"GRADYARD_RATE_LIMIT_PER_MINUTE": "10000000", "GRADYARD_MAX_ACTIVE_JOBS_PER_USER": "100000"}


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    sys.exit(128 + signum)


@contextlib.contextmanager
def cleanup_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises SystemExit, so `with` blocks and `finally` clauses still run."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def bench_stack(*, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """The real stack on a private Redis and a fresh SQLite database in a temporary directory; all gone on exit."""
    with cleanup_on_sigterm(), tempfile.TemporaryDirectory(prefix="gradyard-bench-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'gradyard.db'}"
        upgrade_to_head(url, wait_seconds=5)
        with start_redis(workdir / "redis") as redis_server:
            stack_env = BENCH_ENV | (env or {})
            with launch_stack(database_url=url, broker_url=redis_server.url, workdir=workdir, env=stack_env) as stack:
                yield stack


def export_over(stack: Stack, job_id: str) -> dict[str, Any]:
    """The job once its model export (after its end) is over: the worker takes its next message only then."""
    while (job := stack.job(job_id))["model"] is not None and job["model"]["status"] == "exporting":
        time.sleep(0.02)
    return job


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_time(value: str) -> float:
    """An ISO 8601 timestamp from the API as POSIX seconds."""
    return datetime.fromisoformat(value).timestamp()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of these values (fraction in [0, 1])."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """The median of these values."""
    return float(statistics.median(values))


def machine() -> dict[str, Any]:
    """What the numbers were taken on: the commit, the CPUs and how busy they were, Python and torch."""
    root = Path(__file__).resolve().parent.parent
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    import torch  # here: bench_queue never trains, and torch takes seconds to import

    return {
        "commit": commit.stdout.strip(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write a benchmark's numbers as JSON under test-artifacts/bench/; the file's path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    stamped = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **results}
    path.write_text(json.dumps(stamped, indent=2) + "\n")
    return path
