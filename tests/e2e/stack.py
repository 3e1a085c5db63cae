"""The real stack as processes, with no pytest in it: the API under uvicorn and a Celery worker over a given
Redis and database. The e2e fixtures and the benchmarks both start it from here."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

READY_SECONDS = 60.0
TERMINAL = {"succeeded", "failed", "cancelled"}


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    """A running API and worker; an HTTP client for the API; helpers that wait on jobs."""

    def __init__(
        self, base_url: str, processes: list[subprocess.Popen[bytes]], logs: Path, key: str, env: dict[str, str]
    ) -> None:
        self.env = env
        self.http = httpx.Client(base_url=base_url, timeout=10, headers={"Authorization": f"Bearer {key}"})
        self.url = base_url
        self.key = key
        self.processes = processes
        self.logs = logs

    def submit(self, spec: dict[str, Any]) -> str:
        """POST a spec; the new job's id."""
        response = self.http.post("/jobs", json=spec)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        """GET one job."""
        response = self.http.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def metrics(self, job_id: str, **params: Any) -> dict[str, Any]:
        """GET a job's metric history."""
        response = self.http.get(f"/jobs/{job_id}/metrics", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, job_id: str, statuses: set[str] = TERMINAL, timeout: float = 120.0) -> dict[str, Any]:
        """Poll until the job reaches one of these statuses; fail with the worker's log if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s\n{self.log_tail()}")

    def wait_sweep(self, sweep_id: str, timeout: float = 180.0) -> dict[str, Any]:
        """Poll a sweep until it is no longer running; fail with the processes' logs if it does not."""
        deadline = time.monotonic() + timeout
        while (sweep := self.http.get(f"/sweeps/{sweep_id}").json())["state"] == "running":
            if time.monotonic() > deadline:
                raise AssertionError(f"sweep {sweep_id} still running after {timeout}s: {sweep}\n{self.log_tail()}")
            time.sleep(0.1)
        return dict(sweep)

    def log_tail(self) -> str:
        """The end of each process's log, for failure messages."""
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log")))


def start_process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m cli ARGV` with this environment, its output into the log file."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", *argv],
            env=env | {"PYTHONUNBUFFERED": "1"},  # the log must be readable while the process runs
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def create_key(env: dict[str, str], user: str, *, admin: bool = False) -> str:
    """A new API key, made the way an operator makes one: `gradyard keys create --user USER [--admin]`."""
    made = subprocess.run(
        [sys.executable, "-m", "cli", "keys", "create", "--user", user, *(["--admin"] if admin else [])],
        env=env,
        capture_output=True,
        check=True,
    )
    return made.stdout.decode().strip()


def wait_ready(stack: Stack) -> None:
    """Wait until the API answers /readyz; fail with the logs if a process exits or time runs out."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in stack.processes):
            raise RuntimeError(f"a stack process exited at start\n{stack.log_tail()}")
        try:
            if stack.http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API was not ready in {READY_SECONDS}s\n{stack.log_tail()}")


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop processes politely, then firmly."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a test may have left one stopped
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def launch_stack(
    *, database_url: str, broker_url: str, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """The API and one worker as processes on this migrated database and broker (a queue of their own, settings
    from the environment plus `env`); both stopped on exit."""
    port = free_port()
    full_env = (
        os.environ
        | {
            "GRADYARD_DATABASE_URL": database_url,
            "GRADYARD_BROKER_URL": broker_url,
            "GRADYARD_QUEUE": f"e2e-{uuid.uuid4().hex[:8]}",
            "GRADYARD_PORT": str(port),
            "GRADYARD_ARTIFACT_DIR": str(workdir / "artifacts"),
            "GRADYARD_WORKER_STATE_DIR": str(workdir / "worker"),
            "GRADYARD_DATA_DIR": str(workdir / "data"),
        }
        | (env or {})
    )
    processes = [
        start_process(["api"], full_env, workdir / "api.log"),
        start_process(["worker"], full_env, workdir / "worker.log"),
    ]
    try:
        stack = Stack(f"http://127.0.0.1:{port}", processes, workdir, create_key(full_env, "e2e"), full_env)
    except BaseException:
        stop_processes(processes)
        raise
    try:
        wait_ready(stack)
        yield stack
    finally:
        stack.http.close()
        stop_processes(processes)
