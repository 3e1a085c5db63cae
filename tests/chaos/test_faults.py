"""Chaos: real processes, real signals. Every job ends, nothing runs twice, no point is lost or duplicated."""

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core.queue import enqueue, make_celery
from core.settings import Settings
from tests.chaos.conftest import Cluster, PrivatePostgres
from tests.e2e.conftest import create_key

pytestmark = pytest.mark.chaos

# About 0.2-0.5 s an epoch on one CPU core: long enough to hit mid-job, short enough for CI.
JOB = {
    "name": "chaos",
    "dataset": {"name": "synthetic_classification", "n_samples": 12_000, "n_features": 16, "val_fraction": 0.1},
    "model": {"name": "mlp", "hidden": [64]},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 12,
    "batch_size": 64,
}
TINY = {
    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
    "model": "linear",
    "loss": "mse",
    "optimizer": {"name": "sgd", "lr": 0.01},
    "epochs": 5,
    "batch_size": None,
}
RECOVERY_LOG = Path("test-artifacts/recovery.jsonl")
# 150 jobs keep the suite's time (about 60 s); GRADYARD_CHAOS_BURST=500 runs the full burst (about 200 s here).
# tests/core/test_dispatch.py sends 500 through racing dispatchers at the SQL level on both databases.
BURST = int(os.environ.get("GRADYARD_CHAOS_BURST", "150"))


def note_recovery(fault: str, seconds: float) -> None:
    """Keep how long recovery took, for the issue's closing note."""
    RECOVERY_LOG.parent.mkdir(exist_ok=True)
    with RECOVERY_LOG.open("a") as log:
        log.write(json.dumps({"fault": fault, "seconds": round(seconds, 2)}) + "\n")


def at_epoch(epoch: int) -> Any:
    return lambda job: job["status"] == "running" and job["progress"]["epoch"] >= epoch


def assert_one_point_per_step(cluster: Cluster, job_id: str, epochs: int) -> None:
    """Every metric has exactly one point per epoch, at increasing steps, with nothing missing."""
    history = cluster.metrics(job_id)["metrics"]
    assert set(history) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"}
    steps_per_epoch = history["train_loss"]["step"][0]
    for series in history.values():
        assert series["epoch"] == list(range(1, epochs + 1))
        assert series["step"] == [steps_per_epoch * e for e in range(1, epochs + 1)]


def statuses(job: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    return [(e["status"], e["attempt"], e["reason"]) for e in job["events"]]


def test_a_killed_worker_s_job_resumes_from_its_checkpoint(cluster: Cluster) -> None:
    worker = cluster.start_worker()
    job_id = cluster.submit(JOB)
    cluster.wait_for(job_id, at_epoch(3))
    cluster.kill(worker)
    killed = time.monotonic()
    cluster.start_worker()
    resumed = cluster.wait_for(job_id, lambda job: job["attempt"] == 2 and job["status"] == "running")
    note_recovery("SIGKILL worker mid-job: back to running", time.monotonic() - killed)
    assert resumed["progress"]["epoch"] >= 3  # resumed from a checkpoint, not from the start
    job = cluster.wait(job_id)
    assert (job["status"], job["attempt"], job["restarts"]) == ("succeeded", 2, 1)
    assert statuses(job) == [
        ("queued", 0, None),
        ("running", 1, None),
        ("queued", 1, "worker_lost"),
        ("running", 2, None),
        ("succeeded", 2, None),
    ]
    assert_one_point_per_step(cluster, job_id, JOB["epochs"])


def test_a_job_that_loses_every_worker_fails_after_its_restarts(cluster: Cluster) -> None:
    worker = cluster.start_worker()
    job_id = cluster.submit(JOB | {"max_restarts": 1})
    for attempt in (1, 2):
        cluster.wait_for(job_id, lambda job, a=attempt: job["attempt"] == a and job["status"] == "running")
        cluster.kill(worker)
        worker = cluster.start_worker()
    job = cluster.wait(job_id)
    assert (job["status"], job["reason"], job["attempt"], job["restarts"]) == ("failed", "worker_lost", 2, 1)
    assert job["error"] == "the worker was lost 2 times; max_restarts is 1"


def test_the_same_message_twice_runs_once(cluster: Cluster) -> None:
    cluster.start_worker()
    job_id = cluster.submit(TINY)
    enqueue(
        make_celery(Settings(broker_url=cluster.env["GRADYARD_BROKER_URL"], queue=cluster.env["GRADYARD_QUEUE"])),
        job_id,
    )
    assert cluster.wait(cluster.submit(TINY))["status"] == "succeeded"  # queued after both messages
    job = cluster.job(job_id)
    assert (job["status"], job["attempt"]) == ("succeeded", 1)
    assert [s for s, _, _ in statuses(job)].count("running") == 1


@pytest.mark.chaos_settings(GRADYARD_VISIBILITY_TIMEOUT_SECONDS="2")
def test_a_job_longer_than_the_visibility_timeout_never_runs_twice(cluster: Cluster) -> None:
    cluster.start_worker()
    job_id = cluster.submit(JOB | {"epochs": 40})
    cluster.wait_for(job_id, at_epoch(1))
    cluster.start_worker()  # idle: it receives the message again once the visibility timeout passes
    cluster.wait_for_log("worker-1.log", f"job {job_id} not claimed")  # the redelivery lost the claim
    assert cluster.job(job_id)["status"] == "running"
    job = cluster.wait(job_id)
    assert (job["status"], job["attempt"]) == ("succeeded", 1)
    assert [s for s, _, _ in statuses(job)].count("running") == 1
    assert_one_point_per_step(cluster, job_id, 40)


def test_a_stopped_worker_that_wakes_up_cannot_write(cluster: Cluster) -> None:
    first = cluster.start_worker()
    job_id = cluster.submit(JOB)
    cluster.wait_for(job_id, at_epoch(2))
    cluster.start_worker()
    cluster.kill(first, signal.SIGSTOP)
    stopped = time.monotonic()
    cluster.wait_for(job_id, lambda job: job["attempt"] == 2 and job["status"] == "running")
    note_recovery("SIGSTOP worker: second attempt running", time.monotonic() - stopped)
    cluster.kill(first, signal.SIGCONT)
    job = cluster.wait(job_id)
    assert (job["status"], job["attempt"]) == ("succeeded", 2)
    assert_one_point_per_step(cluster, job_id, JOB["epochs"])
    cluster.wait_for_log("worker-0.log", f"job {job_id} attempt 1 was superseded")


def test_sigterm_hands_the_job_back_with_its_checkpoint(cluster: Cluster) -> None:
    worker = cluster.start_worker()
    job_id = cluster.submit(JOB)
    cluster.wait_for(job_id, at_epoch(2))
    cluster.kill(worker, signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    handed = cluster.job(job_id)
    assert (handed["status"], handed["reason"], handed["restarts"]) == ("queued", "shutdown", 0)
    assert handed["checkpoint_step"] >= handed["progress"]["step"] > 0  # saved where it stopped, mid-epoch
    cluster.start_worker()
    job = cluster.wait(job_id)
    assert (job["status"], job["attempt"], job["restarts"]) == ("succeeded", 2, 0)
    assert_one_point_per_step(cluster, job_id, JOB["epochs"])


def test_a_cancelled_queued_job_never_runs_after_workers_restart(cluster: Cluster) -> None:
    job_id = cluster.submit(TINY)
    assert cluster.http.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    cluster.start_worker()
    assert cluster.wait(cluster.submit(TINY))["status"] == "succeeded"
    time.sleep(3)  # past the queued grace period: the reconciler must not revive it either
    job = cluster.job(job_id)
    assert (job["status"], job["attempt"], job["started_at"]) == ("cancelled", 0, None)


def test_a_redis_that_lost_its_data_is_healed(cluster: Cluster) -> None:
    cluster.start_worker()
    running = cluster.submit(JOB)
    cluster.wait_for(running, at_epoch(1))
    queued = [cluster.submit(TINY) for _ in range(3)]
    cluster.restart_redis()
    lost = time.monotonic()
    jobs = [cluster.wait(job_id) for job_id in [running, *queued]]
    note_recovery("Redis restarted empty: queued jobs done", time.monotonic() - lost)
    assert [(job["status"], job["attempt"]) for job in jobs] == [("succeeded", 1)] * 4
    # The queued jobs waited in SQL while their pool's one slot was busy (core.dispatch): the broker held no message
    # of theirs to lose. A lost message of a job already sent is resent by the reconciler (tests/core/test_dispatch.py).
    assert not any(("queued", 0, "message_lost") in statuses(job) for job in jobs[1:])
    assert_one_point_per_step(cluster, running, JOB["epochs"])


def test_postgres_down_mid_job_loses_nothing(postgres_cluster: tuple[Cluster, PrivatePostgres]) -> None:
    cluster, server = postgres_cluster
    cluster.start_worker()
    job_id = cluster.submit(JOB)
    cluster.wait_for(job_id, at_epoch(2))
    server.stop()
    down = cluster.http.get(f"/jobs/{job_id}")
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["title"] == "Database unavailable"
    time.sleep(4)  # the worker trains on, buffering its points
    server.start()
    back = time.monotonic()
    deadline = time.monotonic() + 30
    while cluster.http.get(f"/jobs/{job_id}").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    note_recovery("PostgreSQL stopped 4 s: API answering again", time.monotonic() - back)
    job = cluster.wait(job_id)
    assert (job["status"], job["attempt"]) == ("succeeded", 1)
    assert_one_point_per_step(cluster, job_id, JOB["epochs"])


def test_time_limit_checkpoints_and_fails(cluster: Cluster) -> None:
    cluster.start_worker()
    endless = JOB | {"dataset": {"name": "synthetic_classification", "n_samples": 500}, "epochs": 100_000}
    job = cluster.wait(cluster.submit(endless | {"max_runtime_seconds": 3}))
    assert (job["status"], job["reason"]) == ("failed", "timed_out")
    assert job["error"].startswith("timed out: ran past its limit of 3s; stopped at step ")
    assert job["checkpoint_step"] >= job["progress"]["step"]  # saved where it stopped, at or past the last epoch


@pytest.mark.chaos_settings(GRADYARD_MAX_ACTIVE_JOBS_PER_USER="1000")
def test_a_burst_of_jobs_over_3_workers_in_2_pools_runs_each_once_in_its_pool(cluster: Cluster) -> None:
    for pool in ("gpu", "gpu", "cpu"):  # pool names only: the dispatcher routes by name, these workers are CPUs
        cluster.start_worker(pool=pool)
    started = time.monotonic()
    ids = [cluster.submit(TINY | {"seed": n, "pool": "cpu" if n % 3 == 0 else "gpu"}) for n in range(BURST)]
    jobs = {job_id: cluster.wait(job_id, timeout=600) for job_id in ids}
    note_recovery(f"{BURST} jobs over 3 workers in 2 pools: all done", time.monotonic() - started)
    assert {(job["status"], job["attempt"], job["restarts"]) for job in jobs.values()} == {("succeeded", 1, 0)}
    admin = {"Authorization": f"Bearer {create_key(cluster.env, 'ops', admin=True)}"}
    pool_of = {worker["id"]: worker["pool"] for worker in cluster.http.get("/workers", headers=admin).json()["items"]}
    assert all(pool_of[job["worker_id"]] == job["spec"]["pool"] for job in jobs.values())
    cpu_jobs = (BURST + 2) // 3  # seeds 0, 3, 6, ...
    assert Counter(pool_of[job["worker_id"]] for job in jobs.values()) == {"cpu": cpu_jobs, "gpu": BURST - cpu_jobs}
    points = [cluster.metrics(job_id, names="train_loss")["metrics"]["train_loss"]["step"] for job_id in jobs]
    assert all(steps == [1, 2, 3, 4, 5] for steps in points)
