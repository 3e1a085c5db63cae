"""Chaos for sweeps: a worker killed mid-trial resumes that trial (it is no failed trial), and the sweep carries on
to its end with every trial numbered once."""

from typing import Any

import pytest

from tests.chaos.conftest import Cluster
from tests.chaos.test_faults import JOB, at_epoch, statuses

pytestmark = pytest.mark.chaos

SWEEP: dict[str, Any] = {
    "name": "chaos-sweep",
    "base": JOB,
    "space": {"optimizer.lr": {"type": "log_uniform", "low": 1e-4, "high": 1e-2}},
    "objective": {"metric": "val_accuracy", "mode": "max"},
    "pruner": "asha",
    "max_trials": 2,
    "max_concurrent": 1,
    "seed": 3,
}


def test_a_killed_workers_trial_resumes_and_the_sweep_ends(cluster: Cluster) -> None:
    worker = cluster.start_worker()
    sweep = cluster.http.post("/sweeps", json=SWEEP).json()
    first = cluster.http.get(f"/sweeps/{sweep['id']}/trials").json()["items"][0]["job_id"]
    cluster.wait_for(first, at_epoch(4))
    cluster.kill(worker)
    cluster.start_worker()
    now = cluster.wait_sweep(sweep["id"])
    trial = cluster.job(first)
    assert trial["restarts"] == 1 and trial["status"] == "succeeded"
    assert ("queued", 1, "worker_lost") in statuses(trial)
    board = cluster.http.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    assert sorted(row["trial"] for row in board) == [0, 1]
    assert now["state"] == "succeeded" and now["trials"]["total"] == 2
