"""Two `gradyard up` instances from one checkout: each with its own PORT and database, each with its own Redis."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 120.0


def start_up(workdir: Path, port: int, database: str) -> subprocess.Popen[str]:
    """`PORT=port gradyard up` in workdir (its ./var), on its own SQLite file, output piped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADYARD_") and k != "PORT"}
    env |= {"PORT": str(port), "GRADYARD_DATABASE_URL": f"sqlite:///./var/{database}.db", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "up"],
        cwd=workdir,
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str], port: int) -> None:
    """Return once the instance's /readyz says its database and its broker answer."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"port {port} not ready after {READY_SECONDS}s")


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C the instance; its exit code and everything it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output = process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
    return process.returncode, output


def test_two_instances_run_side_by_side_and_a_clash_says_what_to_set(tmp_path: Path) -> None:
    first_port, second_port = free_port(), free_port()
    first = start_up(tmp_path, first_port, "first")
    second = start_up(tmp_path, second_port, "second")
    try:
        wait_ready(first, first_port)
        wait_ready(second, second_port)
        sockets = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "var").glob("*/redis.sock"))
        assert sockets == sorted([f"var/redis-{first_port}/redis.sock", f"var/redis-{second_port}/redis.sock"])
        clash = start_up(tmp_path, first_port, "third")  # the first one's port: its Redis is live
        code, said = clash.wait(timeout=60), clash.communicate()[0]
        assert code == 1 and "Traceback" not in said, said
        assert f"a Redis already answers at {tmp_path / 'var' / f'redis-{first_port}' / 'redis.sock'}" in said
        assert said.rstrip().endswith("Give each instance its own PORT and GRADYARD_DATABASE_URL"), said
        assert httpx.get(f"http://127.0.0.1:{first_port}/readyz").status_code == 200  # the clash took nothing
    finally:
        results = [stop(first), stop(second)]
    for code, output in results:
        assert code == 0, output
    assert list((tmp_path / "var").glob("*/redis.sock")) == []  # each stopped its own Redis
