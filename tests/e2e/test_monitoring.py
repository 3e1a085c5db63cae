"""Watching the real stack: JSON log lines that name the job, attempt and worker; metrics that move as a job runs."""

import functools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.redis_server import RedisServer
from tests.conftest import create_database
from tests.e2e.stack import Stack, launch_stack
from tests.e2e.test_training_jobs import LONG, THERMOMETER
from tests.prom_text import Family, parse, value

pytestmark = pytest.mark.e2e
HEARTBEAT_TIMEOUT = 5.0


@pytest.fixture(scope="module", params=["sqlite"])
def stack(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API and a worker as processes, logging JSON lines; on SQLite only (the metrics' SQL is tested on both
    databases in tests/service/test_prometheus.py, and what this adds, real processes and their logs, is the same
    on either)."""
    workdir = tmp_path_factory.mktemp(f"monitor-{request.param}")
    url, drop = create_database(request.param, workdir)
    env = {
        "GRADYARD_LOG_FORMAT": "json",
        "GRADYARD_FLUSH_SECONDS": "0.2",
        "GRADYARD_RATE_LIMIT_PER_MINUTE": "100000",
        "GRADYARD_HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_TIMEOUT),
    }
    try:
        with launch_stack(database_url=url, broker_url=redis_server.url, workdir=workdir, env=env) as running:
            yield running
    finally:
        drop()


@functools.cache
def _admin_key(stack: Stack) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "cli", "keys", "create", "--user", "ops", "--admin"],
        env=stack.env,
        capture_output=True,
        check=True,
    )
    return made.stdout.decode().strip()


def _scrape(stack: Stack) -> dict[str, Family]:
    key = _admin_key(stack)
    answer = httpx.get(stack.url + "/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return parse(answer.text)


def _json_lines(log: Path) -> list[dict[str, object]]:
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_a_job_moves_the_metrics_and_names_itself_in_every_log_line(stack: Stack) -> None:
    before = _scrape(stack)
    job_id = stack.submit(THERMOMETER | {"epochs": 200})
    job = stack.wait(job_id)
    assert job["status"] == "succeeded"
    after = _scrape(stack)

    def finished(families: dict[str, Family]) -> float:
        return families["gradyard_jobs_finished_total"].samples.get(
            ("gradyard_jobs_finished_total", (("pool", "default"), ("reason", "none"), ("status", "succeeded"))), 0.0
        )

    assert finished(after) == finished(before) + 1
    run = "gradyard_job_duration_seconds"
    count = run + "_count"
    assert (
        value(after, run, count, status="succeeded", pool="default")
        == before[run].samples.get((count, (("pool", "default"), ("status", "succeeded"))), 0) + 1
    )
    assert value(after, "gradyard_metric_points_stored") >= value(before, "gradyard_metric_points_stored") + 200
    route = ("gradyard_http_requests_total", (("code", "201"), ("method", "POST"), ("route", "/jobs")))
    assert after["gradyard_http_requests_total"].samples[route] >= 1

    worker_log = stack.logs / "worker.log"
    ended = f"job {job_id} attempt 1 ended (succeeded)"  # logged after the model's export, which follows the end
    deadline = time.monotonic() + 60
    while ended not in worker_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    # Every line that mentions the job (the ones it caused) is one JSON object naming it, its attempt and the worker.
    mentions = [line for line in worker_log.read_text().splitlines() if job_id in line]
    assert mentions, stack.log_tail()
    workers = httpx.get(stack.url + "/workers", headers={"Authorization": f"Bearer {_admin_key(stack)}"}).json()
    (worker,) = [w["id"] for w in workers["items"] if w["live"]]  # the stack's one worker, as listed
    for line in mentions:
        record = json.loads(line)
        assert record["job_id"] == job_id, line
        assert record["worker"] == worker, line
    caused = [record for record in _json_lines(worker_log) if record.get("job_id") == job_id]
    messages = [str(record["message"]) for record in caused]
    assert any(m.startswith(f"job {job_id} attempt 1 started") for m in messages), messages
    assert any(m.startswith(ended) for m in messages), messages
    assert all(record["attempt"] == 1 for record in caused if "started" in str(record["message"]))
    assert {"time", "level", "logger", "message"} <= set(caused[0])


def test_a_killed_worker_shows_as_gone_within_one_heartbeat_timeout(stack: Stack) -> None:
    # Last in this module: it leaves the stack without a worker.
    job_id = stack.submit(LONG | {"name": "to-be-orphaned"})
    stack.wait(job_id, {"running"})
    worker = stack.processes[1]
    worker.send_signal(signal.SIGKILL)  # no reconciler is left either: only the metrics can tell
    worker.wait()
    killed = time.monotonic()
    while True:
        families = _scrape(stack)
        age = value(families, "gradyard_oldest_heartbeat_seconds", pool="default")
        if age > value(families, "gradyard_heartbeat_timeout_seconds"):
            break
        assert time.monotonic() - killed < HEARTBEAT_TIMEOUT + 5, f"heartbeat only {age}s old"
        time.sleep(0.25)
    assert time.monotonic() - killed <= HEARTBEAT_TIMEOUT + 2  # one timeout, plus a scrape's and a flush's time
    assert value(families, "gradyard_jobs", status="running", pool="default") == 1
