"""Chaos at exact steps: a worker process crashes (SIGKILL, from a failpoint in core.failpoints) between two commits
of the dispatcher or of a sweep's controller, holding the lease. A worker started after it carries on: no job is
sent twice or lost, no trial is lost or numbered twice."""

import subprocess
from typing import Any

import pytest

from core.failpoints import DISPATCH_MARKED, DISPATCH_SENT, SWEEP_TRIAL_STORED
from tests.chaos.conftest import Cluster
from tests.chaos.test_faults import TINY

pytestmark = [pytest.mark.chaos, pytest.mark.chaos_settings(GRADYARD_LEASE_SECONDS="3")]  # not 30 s of waiting

SWEEP: dict[str, Any] = {
    "name": "crash-sweep",
    "base": TINY,
    "space": {"optimizer.lr": {"type": "log_uniform", "low": 1e-3, "high": 1e-1}},
    "objective": {"metric": "train_loss", "mode": "min"},
    "pruner": "none",
    "max_trials": 4,
    "max_concurrent": 1,
    "seed": 5,
}


def doomed_worker(cluster: Cluster, point: str) -> subprocess.Popen[bytes]:
    """A worker that kills itself when it reaches the point; it must have: a test that never crashed proves nothing."""
    return cluster.start_worker(env={"GRADYARD_FAILPOINTS": point})


def assert_crashed(cluster: Cluster, worker: subprocess.Popen[bytes], point: str) -> None:
    """The worker died by its own SIGKILL at the point."""
    assert worker.wait(timeout=120) == -9, cluster.log_tail()
    logs = "".join(p.read_text() for p in cluster.workdir.glob("worker-*.log"))
    assert f"failpoint {point} reached" in logs


def ran_once(cluster: Cluster, job_id: str) -> None:
    """The job ended succeeded on its first attempt with its five points, none twice."""
    job = cluster.wait(job_id, timeout=120)
    assert (job["status"], job["attempt"], job["restarts"]) == ("succeeded", 1, 0), job
    assert cluster.metrics(job_id, names="train_loss")["metrics"]["train_loss"]["step"] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("point", [DISPATCH_MARKED, DISPATCH_SENT])
def test_a_dispatcher_killed_mid_send_sends_no_job_twice_and_loses_none(cluster: Cluster, point: str) -> None:
    ids = [cluster.submit(TINY | {"seed": n}) for n in range(3)]  # queued: no worker, so no slot to send them to
    doomed = doomed_worker(cluster, point)  # its start-up pass sends the first job into its new slot, and dies
    assert_crashed(cluster, doomed, point)
    cluster.start_worker()
    for job_id in ids:
        ran_once(cluster, job_id)


def test_a_sweep_controller_killed_after_storing_a_trial_loses_none_and_numbers_none_twice(cluster: Cluster) -> None:
    sweep = cluster.http.post("/sweeps", json=SWEEP).json()  # the API's pass stores trial 0 (no failpoint there)
    doomed = doomed_worker(cluster, SWEEP_TRIAL_STORED)  # runs trial 0; its pass after it stores trial 1, and dies
    assert_crashed(cluster, doomed, SWEEP_TRIAL_STORED)
    cluster.start_worker()
    now = cluster.wait_sweep(sweep["id"])
    board = cluster.http.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    assert sorted(row["trial"] for row in board) == [0, 1, 2, 3]
    for row in board:
        ran_once(cluster, row["job_id"])
    assert now["state"] == "succeeded" and now["trials"]["total"] == 4
