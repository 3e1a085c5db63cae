"""What the benchmarks share: fresh databases, jobs seeded through the worker's write path, the API and an MLflow
tracking server as processes, latency statistics, and where the results go.

Everything here that starts a process or makes a database is a context manager that undoes it on the way out, on
failure too.
"""

import contextlib
import datetime
import json
import math
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from rich.console import Console
from sqlalchemy.engine import make_url

from core import repository
from core.db import session_scope
from core.metrics import Point
from core.migrate import upgrade_to_head

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "test-artifacts" / "bench"
MLFLOW_BIN = ROOT / ".venv-mlflow" / "bin" / "mlflow"
PG_ADMIN_URL = os.environ.get("GRADYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DIALECTS = ("sqlite", "postgresql")
READY_SECONDS = 90.0
MLFLOW_BATCH = 1000  # log-batch takes at most 1000 metrics per call
MLFLOW_PAGE = 25_000  # the page MLflow's own client asks get-history for (GET_METRIC_HISTORY_MAX_RESULTS)
STEPS_PER_EPOCH = 100
T = TypeVar("T")


# --- sizes, points, statistics ------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    """`1e4,1e5` or `10000,100000` as integers."""
    return [int(float(part)) for part in text.split(",") if part.strip()]


def loss_curve(*, name: str, steps: int, seed: int = 0) -> list[Point]:
    """A realistic training curve: exponential decay to a floor with multiplicative noise, one point per step."""
    rng = random.Random(f"{name}-{seed}")
    start, floor, tau = 2.3 + rng.random(), 0.02 + 0.05 * rng.random(), steps / 5
    return [
        Point(
            name,
            step,
            (step - 1) // STEPS_PER_EPOCH + 1,
            (floor + (start - floor) * math.exp(-step / tau)) * (1 + 0.05 * rng.gauss(0, 1)),
            step * 0.004,
        )
        for step in range(1, steps + 1)
    ]


@dataclass(frozen=True)
class Timing:
    """Latencies of repeated calls (milliseconds) and the response size (bytes)."""

    samples_ms: list[float]
    size_bytes: int
    points: int

    @property
    def p50(self) -> float:
        """The median latency."""
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        """The 95th percentile latency (nearest rank)."""
        return percentile(self.samples_ms, 95)

    def as_json(self) -> dict[str, Any]:
        """The numbers for the results file."""
        return {
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "repeats": len(self.samples_ms),
            "size_bytes": self.size_bytes,
            "points": self.points,
        }


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank percentile q (0-100) of the samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def measure(
    call: Callable[[], T], *, sized: Callable[[T], tuple[int, int]], budget_s: float, max_repeats: int = 30
) -> Timing:
    """Time `call` after one warm-up call (whose result `sized` turns into bytes and points): as many repeats as fit
    the time budget, at least one, at most max_repeats."""
    start = time.perf_counter()
    size, points = sized(call())
    warm_s = time.perf_counter() - start
    repeats = max(1, min(max_repeats, int(budget_s / max(warm_s, 1e-6))))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return Timing(samples, size, points)


# --- databases ------------------------------------------------------------------------------------------------------


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def fresh_database(dialect: str, workdir: Path) -> Iterator[str]:
    """A new database at the newest schema (a SQLite file in workdir, or a PostgreSQL database), dropped on exit."""
    if dialect == "sqlite":
        url = f"sqlite:///{workdir / 'gradyard.db'}"
        upgrade_to_head(url, wait_seconds=5)
        yield url
        return
    name = f"gradyard_bench_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
        upgrade_to_head(url, wait_seconds=5)
        yield url
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def use_database(url: str) -> Iterator[None]:
    """Point this process's settings, engine and sessions at url; forget them (and close the pool) on exit."""
    from core.db import get_engine, get_sessionmaker
    from core.settings import get_settings

    def forget() -> None:
        if get_engine.cache_info().currsize:
            get_engine().dispose()
        for cached in (get_settings, get_engine, get_sessionmaker):
            cached.cache_clear()

    previous = os.environ.get("GRADYARD_DATABASE_URL")
    os.environ["GRADYARD_DATABASE_URL"] = url
    forget()
    try:
        yield
    finally:
        forget()
        if previous is None:
            os.environ.pop("GRADYARD_DATABASE_URL", None)
        else:
            os.environ["GRADYARD_DATABASE_URL"] = previous


def start_job(*, name: str, spec: dict[str, Any] | None = None) -> tuple[str, int]:
    """A job created and claimed the way the API and the worker do it: its id and attempt."""
    with session_scope() as session:
        job_id = repository.create_job(session, name=name, spec=spec or {}, idempotency_key=None, request_hash=None).id
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id)
    assert attempt is not None
    return job_id, attempt


def record_batches(*, job_id: str, attempt: int, points: Sequence[Point], batch: int) -> None:
    """Write points through `record_progress`, one transaction per batch, as the recorder's writer thread does."""
    for lo in range(0, len(points), batch):
        chunk = list(points[lo : lo + batch])
        last = chunk[-1]
        with session_scope() as session:
            repository.record_progress(
                session, job_id=job_id, attempt=attempt, points=chunk, epoch=last.epoch, step=last.step
            )


def end_job(*, job_id: str, attempt: int) -> None:
    """Finish the job as succeeded."""
    with session_scope() as session:
        repository.finish_job(session, job_id=job_id, attempt=attempt, status="succeeded")


def seed_job(*, name: str, points: Sequence[Point], batch: int) -> str:
    """A succeeded job holding these points, written through the worker's own write path; its id."""
    job_id, attempt = start_job(name=name)
    record_batches(job_id=job_id, attempt=attempt, points=points, batch=batch)
    end_job(job_id=job_id, attempt=attempt)
    return job_id


def admin_key() -> str:
    """A new admin key in the current database (the API then makes no first key of its own)."""
    with session_scope() as session:
        return repository.issue_key(session, user_name="bench", is_admin=True).key


# --- processes ------------------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, with its children: politely, then firmly."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited at start\n{_log_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not ready in {READY_SECONDS}s\n{_log_tail(log)}")


@contextlib.contextmanager
def server_process(argv: list[str], *, env: dict[str, str], log: Path, ready_url: str) -> Iterator[None]:
    """A server started in its own process group, ready when ready_url answers 200; stopped (group and all) on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env | {"PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(process, ready_url, log)
        yield
    finally:
        _stop(process)


@contextlib.contextmanager
def gradyard_api(database_url: str, workdir: Path) -> Iterator[httpx.Client]:
    """`gradyard api` (uvicorn, one process) on this database; a keep-alive client that carries an admin key."""
    with use_database(database_url):
        key = admin_key()
    port = free_port()
    env = dict(os.environ) | {
        "GRADYARD_DATABASE_URL": database_url,
        "GRADYARD_HOST": "127.0.0.1",
        "GRADYARD_PORT": str(port),
        "GRADYARD_BROKER_URL": "redis://127.0.0.1:1/0",  # reads need no broker; never reach a Redis of someone else
        "GRADYARD_RATE_LIMIT_PER_MINUTE": "10000000",
    }
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "cli", "api"]
    with (
        server_process(argv, env=env, log=workdir / "api.log", ready_url=f"{base}/healthz"),
        httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        yield client


@contextlib.contextmanager
def mlflow_server(workdir: Path, *, workers: int = 1) -> Iterator["Mlflow"]:
    """`mlflow server` on loopback with a SQLite store in workdir; a REST client for it."""
    if not MLFLOW_BIN.exists():
        raise SystemExit(f"{MLFLOW_BIN} is missing: run the Makefile target (it makes .venv-mlflow)")
    port = free_port()
    store = workdir / "mlflow"
    store.mkdir(parents=True)
    argv = [
        str(MLFLOW_BIN),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--backend-store-uri",
        f"sqlite:///{store / 'mlflow.db'}",
        "--default-artifact-root",
        str(store / "artifacts"),
    ]
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "VIRTUAL_ENV"))}
    with (
        server_process(argv, env=env, log=workdir / "mlflow.log", ready_url=f"{base}/health"),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        yield Mlflow(client, store / "mlflow.db")


class Mlflow:
    """The few MLflow tracking REST calls the benchmarks make."""

    def __init__(self, http: httpx.Client, store: Path) -> None:
        self.http = http
        self.store = store
        self.experiment_id = self._post("/api/2.0/mlflow/experiments/create", {"name": f"bench-{uuid.uuid4().hex}"})[
            "experiment_id"
        ]

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return dict(response.json())

    def create_run(self, *, name: str) -> str:
        """A new run; its id."""
        body = {"experiment_id": self.experiment_id, "run_name": name, "start_time": int(time.time() * 1000)}
        return str(self._post("/api/2.0/mlflow/runs/create", body)["run"]["info"]["run_id"])

    def log_points(self, *, run_id: str, points: Sequence[Point]) -> None:
        """Log points through log-batch, at most 1000 metrics per call (MLflow's limit)."""
        base_ms = int(time.time() * 1000)
        for lo in range(0, len(points), MLFLOW_BATCH):
            metrics = [
                {"key": p.name, "value": p.value, "timestamp": base_ms + int(p.time * 1000), "step": p.step}
                for p in points[lo : lo + MLFLOW_BATCH]
            ]
            self._post("/api/2.0/mlflow/runs/log-batch", {"run_id": run_id, "metrics": metrics})

    def seed_points(self, *, run_id: str, points: Sequence[Point], through_api: int) -> None:
        """Log the first `through_api` points through log-batch, then write the rest straight into the store's
        metrics table, as rows of the same shape log-batch writes: at MLflow's 1,000 to 7,000 points/s, a million
        points through the API would take longer than the whole benchmark. Reads still go through the server."""
        self.log_points(run_id=run_id, points=points[:through_api])
        base_ms = int(time.time() * 1000)
        rows = [
            (
                p.name,
                0.0 if math.isnan(p.value) else p.value,
                base_ms + int(p.time * 1000),
                run_id,
                p.step,
                math.isnan(p.value),
            )
            for p in points[through_api:]
        ]
        with contextlib.closing(sqlite3.connect(self.store, timeout=60)) as db, db:
            db.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", rows
            )

    def history(self, *, run_id: str, key: str) -> tuple[int, int]:
        """Every point of one metric through get-history, page by page as MLflow's client reads it: (bytes, points)."""
        size = points = 0
        params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": MLFLOW_PAGE}
        while True:
            response = self.http.get("/api/2.0/mlflow/metrics/get-history", params=params)
            response.raise_for_status()
            page = response.json()
            size += len(response.content)
            points += len(page.get("metrics", []))
            if not page.get("next_page_token"):
                return size, points
            params["page_token"] = page["next_page_token"]

    def interval(
        self, *, run_id: str, key: str, max_results: int, steps: tuple[int, int] | None = None
    ) -> tuple[int, int]:
        """get-history-bulk-interval: up to max_results sampled points, optionally in a step range: (bytes, points)."""
        params: dict[str, Any] = {"run_ids": run_id, "metric_key": key, "max_results": max_results}
        if steps is not None:
            params |= {"start_step": steps[0], "end_step": steps[1]}
        response = self.http.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params=params)
        response.raise_for_status()
        return len(response.content), len(response.json().get("metrics", []))


# --- results --------------------------------------------------------------------------------------------------------


def exit_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so every `with` here stops its servers and drops its databases."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A temporary directory for databases, stores and logs, removed on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        yield Path(path)


def console() -> Console:
    """A rich console; wide when writing to a file or a pipe, so the tables keep one line per row."""
    return Console() if sys.stdout.isatty() else Console(width=220)


def machine() -> dict[str, Any]:
    """Where and when the numbers were taken: host, CPUs, Python, the date and the commit."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write the numbers as test-artifacts/bench/NAME.json; the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2) + "\n")
    return path


def times(numerator: float | None, denominator: float | None) -> str:
    """One figure over another, for a table cell ("-" where either is missing)."""
    if numerator is None or denominator is None or denominator <= 0:
        return "-"
    return f"{numerator / denominator:,.1f}x"


def mlflow_version() -> str:
    """The MLflow version installed in .venv-mlflow, from its dist-info folder (no import: that takes seconds)."""
    found = sorted((ROOT / ".venv-mlflow").glob("lib/python*/site-packages/mlflow-*.dist-info"))
    return found[0].name.removeprefix("mlflow-").removesuffix(".dist-info") if found else "?"
