"""Pools end to end: the API and two real workers, one in pool `red` and one in `blue`, over a real Redis and
database. Jobs go only to their pool's worker; a high job runs before low ones queued earlier; a user who has used
a worker goes after one who has not. A long job holds a worker busy until the test cancels it, so the order is
decided while every later job waits, not by timing."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.redis_server import RedisServer
from tests.conftest import DIALECTS, create_database
from tests.e2e.conftest import Stack, create_key, launch_stack, start_process

JOB = {
    "dataset": {"name": "thermometer", "normalize": "standard"},
    "model": "linear",
    "loss": "mse",
    "optimizer": "sgd",
    "epochs": 3,
}
LONG = JOB | {"epochs": 100_000, "batch_size": 1}  # runs until cancelled
ENV = {
    "GRADYARD_FLUSH_SECONDS": "0.2",
    "GRADYARD_RATE_LIMIT_PER_MINUTE": "100000",
    "GRADYARD_MAX_ACTIVE_JOBS_PER_USER": "20",
    "GRADYARD_HIGH_PRIORITY": "anyone",
    "GRADYARD_PREEMPT": "true",  # only a job below high is preempted: the tests that hold a worker hold it with high
    "GRADYARD_PREEMPT_MIN_SECONDS": "0",
    "GRADYARD_WORKER_POOL": "red",  # the stack's own worker; the test starts the `blue` one
}


@pytest.fixture(scope="module", params=DIALECTS)
def stack(request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path_factory: Any) -> Iterator[Stack]:
    """The API, a worker in `red` and a worker in `blue`, waited until both have registered."""
    workdir: Path = tmp_path_factory.mktemp(f"pools-{request.param}")
    url, drop = create_database(request.param, workdir)
    try:
        with launch_stack(database_url=url, broker_url=redis_server.url, workdir=workdir, env=ENV) as running:
            blue_env = running.env | {"GRADYARD_WORKER_POOL": "blue"}
            running.processes.append(start_process(["worker"], blue_env, workdir / "worker-blue.log"))
            wait_for_pools(running, {"red", "blue"})
            yield running
    finally:
        drop()


def wait_for_pools(stack: Stack, pools: set[str]) -> None:
    """Until each pool has a live worker."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        live = {p["name"] for p in stack.http.get("/pools").json()["items"] if p["slots"] > 0}
        if pools <= live:
            return
        time.sleep(0.2)
    raise AssertionError(f"pools {pools} have no live worker\n{stack.log_tail()}")


def hold(stack: Stack, pool: str, client: httpx.Client | None = None) -> str:
    """A long job running in the pool (its one worker is busy), high so that no job preempts it."""
    response = (client or stack.http).post("/jobs", json=LONG | {"pool": pool, "priority": "high"})
    job_id = str(response.json()["id"])
    stack.wait(job_id, {"running"})
    return job_id


def post(client: httpx.Client, **fields: Any) -> str:
    response = client.post("/jobs", json=JOB | fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def admin(stack: Stack) -> httpx.Client:
    """A client with an admin key, made as an operator makes one (`gradyard keys create --admin`)."""
    made = subprocess.run(
        [sys.executable, "-m", "cli", "keys", "create", "--user", "root", "--admin"],
        env=stack.env,
        capture_output=True,
        check=True,
    )
    key = made.stdout.decode().strip()
    return httpx.Client(base_url=stack.url, timeout=10, headers={"Authorization": f"Bearer {key}"})


def wait_all(client: httpx.Client, job_ids: list[str]) -> list[dict[str, Any]]:
    """The jobs once each has ended (any owner's: the client is an admin's)."""
    deadline = time.monotonic() + 120
    jobs = []
    for job_id in job_ids:
        while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        jobs.append(job)
    return jobs


def started(stack: Stack, job_ids: list[str]) -> list[str]:
    """The jobs, once all have ended succeeded, in the order they started."""
    jobs = wait_all(admin(stack), job_ids)
    assert {job["status"] for job in jobs} == {"succeeded"}
    return [job["id"] for job in sorted(jobs, key=lambda job: job["started_at"])]


def test_jobs_run_only_on_their_pools_worker(stack: Stack) -> None:
    assert stack.http.get("/workers").status_code == 403  # the stack's key is a plain user's
    workers = {w["pool"]: w["id"] for w in admin(stack).get("/workers").json()["items"]}
    red, blue = post(stack.http, pool="red"), post(stack.http, pool="blue")
    red_job, blue_job = stack.wait(red), stack.wait(blue)
    assert (red_job["status"], blue_job["status"]) == ("succeeded", "succeeded")
    assert red_job["worker_id"] != blue_job["worker_id"]
    assert (red_job["worker_id"], blue_job["worker_id"]) == (workers["red"], workers["blue"])
    later = [post(stack.http, pool="red") for _ in range(2)]
    assert {stack.wait(job_id)["worker_id"] for job_id in later} == {red_job["worker_id"]}


def test_a_high_job_runs_before_low_ones_queued_earlier(stack: Stack) -> None:
    busy = hold(stack, "red")
    lows = [post(stack.http, pool="red", priority="low") for _ in range(3)]
    high = post(stack.http, pool="red", priority="high")
    queue = stack.http.get("/queue", params={"pool": "red"}).json()["items"]
    assert [item["id"] for item in queue] == [high, *lows]
    assert queue[0]["reason"] == "pool red busy: 1 of 1 slots"
    shown = subprocess.run(
        [sys.executable, "-m", "cli", "queue", "--pool", "red", "--url", stack.url, "--key", stack.key],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.splitlines()
    assert shown[1] == f"  1  {high[:8]}  e2e   high      pool red busy: 1 of 1 slots"
    assert len(shown) == 5 and max(len(line) for line in shown) <= 80
    assert stack.http.post(f"/jobs/{busy}/cancel").status_code == 202
    assert started(stack, [*lows, high]) == [high, *lows]


def test_a_user_who_has_not_used_the_pool_goes_before_one_who_has(stack: Stack) -> None:
    bob = httpx.Client(
        base_url=stack.url, timeout=10, headers={"Authorization": f"Bearer {create_key(stack.env, 'bob')}"}
    )
    busy = hold(stack, "blue")  # the stack's user `e2e` uses blue's worker now
    time.sleep(1.0)  # a second of use: e2e's fair share is past bob's zero
    mine = [post(stack.http, pool="blue") for _ in range(3)]
    bobs = post(bob, pool="blue")  # posted last
    queue = stack.http.get("/queue", params={"pool": "blue"}).json()["items"]
    assert [item["id"] for item in queue] == [bobs, *mine]
    assert queue[1]["reason"] == "user over fair share"
    stack.http.post(f"/jobs/{busy}/cancel")
    assert started(stack, [*mine, bobs]) == [bobs, *mine]


def test_preemption_hands_a_low_job_back_for_a_high_one_and_it_resumes_exactly(stack: Stack) -> None:
    low = post(stack.http, **(LONG | {"pool": "red", "priority": "low"}))
    while stack.job(low)["progress"]["step"] < 50:  # running, with points recorded
        time.sleep(0.1)
    high = post(stack.http, pool="red", priority="high")
    assert started(stack, [high]) == [high]
    deadline = time.monotonic() + 60
    while (job := stack.job(low))["attempt"] < 2 or job["status"] != "running" or job["progress"]["step"] < 100:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert stack.http.post(f"/jobs/{low}/cancel").status_code == 202
    job = stack.wait(low)
    assert (job["status"], job["restarts"], job["attempt"]) == ("cancelled", 0, 2)
    log = [(e["status"], e["attempt"], e["reason"], e["detail"]) for e in job["events"]]
    assert ("running", 1, None, "preempt requested: a high-priority job waits for this pool") in log
    [handed] = [e for e in log if e[2] == "preempted"]
    assert handed[0] == "queued" and handed[3].startswith("preempted for a high-priority job; checkpoint at step ")
    history = stack.http.get(f"/jobs/{low}/metrics", params={"names": "train_loss"}).json()["metrics"]["train_loss"]
    assert history["epoch"] == list(range(1, len(history["epoch"]) + 1))  # one point per epoch across the hand-back
