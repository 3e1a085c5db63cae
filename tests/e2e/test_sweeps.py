"""Sweeps on the real stack (API, worker, Redis; SQLite and PostgreSQL): tiny digits trials run to the end with
ASHA pruning some at their rungs and the best one's model downloadable, CMA-ES with Hyperband through the CLI, a
stop cancels the running trial, another user's sweep is a 404, bad input a 422."""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import safetensors.numpy
import yaml

from core.repository.lifecycle import PRUNED_MODEL
from tests.e2e.conftest import Stack, create_key

SWEEP: dict[str, Any] = {
    "name": "digits-asha",
    "base": {
        "dataset": {"name": "digits", "val_fraction": 0.2},
        "model": {"name": "mlp", "hidden": [16]},
        "loss": "cross_entropy",
        "optimizer": {"name": "sgd", "lr": 0.01},
        "epochs": 9,
        "batch_size": 64,
    },
    "space": {
        "optimizer.lr": {"type": "log_uniform", "low": 1e-4, "high": 0.5},
        "optimizer.momentum": {"type": "uniform", "low": 0.0, "high": 0.9},
        "model.hidden": {"type": "choice", "values": [[16], [64]]},
    },
    "objective": {"metric": "val_accuracy", "mode": "max"},
    "sampler": "tpe",
    "pruner": "asha",
    "max_trials": 8,
    "max_concurrent": 1,
    "seed": 11,
}


def test_a_sweep_with_asha_runs_to_the_end_pruning_some_trials(stack: Stack) -> None:
    response = stack.http.post("/sweeps", json=SWEEP)
    assert response.status_code == 201, response.text
    sweep = stack.wait_sweep(response.json()["id"])
    assert sweep["state"] == "succeeded", sweep
    assert sweep["trials"]["total"] == 8 and sweep["trials"].get("succeeded") == 8
    board = stack.http.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    assert sorted(row["trial"] for row in board) == list(range(8))  # none lost, none numbered twice
    pruned = [row for row in board if row["reason"] == "pruned"]
    complete = [row for row in board if row["reason"] != "pruned"]
    assert pruned, board
    assert all(row["epoch"] in (1, 3) for row in pruned)  # ASHA's rungs below the last epoch
    assert all(row["epoch"] == 9 for row in complete)
    best = max(complete, key=lambda row: row["value"])
    assert board[0] == best and sweep["best"]["job_id"] == best["job_id"] and sweep["best"]["value"] == best["value"]
    job = stack.job(pruned[0]["job_id"])
    assert (job["status"], job["reason"], job["sweep_id"], job["trial"]) == (
        "succeeded", "pruned", sweep["id"], pruned[0]["trial"]
    )  # fmt: skip
    assert job["progress"]["epoch"] == pruned[0]["epoch"]
    assert job["metrics"]["val_accuracy"]["last"] == pruned[0]["value"]
    assert job["spec"]["optimizer"]["lr"] == job["params"]["optimizer.lr"]
    assert (job["model"]["status"], job["model"]["detail"]) == ("unavailable", PRUNED_MODEL)  # at once, not exported
    assert_model_downloads(stack, best["job_id"])


def assert_model_downloads(stack: Stack, job_id: str) -> None:
    """The trial's model is exported like any job's: its safetensors weights download and load."""
    deadline = time.monotonic() + 60
    while (job := stack.job(job_id))["model"]["status"] == "exporting" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["model"]["status"] == "ready", (job["model"], stack.log_tail())
    response = stack.http.get(f"/jobs/{job_id}/model")
    assert response.status_code == 200, response.text
    weights = safetensors.numpy.load(response.content)
    hidden = job["spec"]["model"]["hidden"][0]
    assert sorted(w.shape for w in weights.values()) == sorted([(hidden, 64), (hidden,), (10, hidden), (10,)])


def test_stop_cancels_the_running_trial_and_starts_no_more(stack: Stack) -> None:
    long = SWEEP | {"name": "to-stop", "pruner": "none", "base": SWEEP["base"] | {"epochs": 5000}}
    sweep = stack.http.post("/sweeps", json=long).json()
    first = stack.http.get(f"/sweeps/{sweep['id']}/trials").json()["items"][0]["job_id"]
    stack.wait(first, {"running"})
    response = stack.http.post(f"/sweeps/{sweep['id']}/stop")
    assert response.status_code == 202 and response.json()["state"] == "stopped"
    assert stack.wait(first, timeout=30)["status"] == "cancelled"
    time.sleep(0.5)  # the worker's pass after the trial ended must not start another
    after = stack.http.get(f"/sweeps/{sweep['id']}").json()
    assert after["state"] == "stopped" and after["trials"] == {"cancelled": 1, "total": 1}


def test_another_users_sweep_is_not_found_and_bad_input_is_a_422(stack: Stack) -> None:
    sweep = stack.http.post("/sweeps", json=SWEEP | {"max_trials": 1, "pruner": "none"}).json()
    other = httpx.Client(
        base_url=stack.url, timeout=10, headers={"Authorization": f"Bearer {create_key(stack.env, 'eve')}"}
    )
    assert other.get(f"/sweeps/{sweep['id']}").status_code == 404
    assert other.post(f"/sweeps/{sweep['id']}/stop").status_code == 404
    assert other.get("/sweeps").json() == {"items": []}
    bad = other.post("/sweeps", json=SWEEP | {"objective": {"metric": "val_r2", "mode": "max"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "objective", "metric"]
    assert stack.wait_sweep(sweep["id"])["state"] == "succeeded"


def test_the_cli_follows_a_sweep_to_its_end_and_lists_it(stack: Stack, tmp_path: Path) -> None:
    # CMA-ES and Hyperband here: the controller's and the pruner's paths for both, through the real processes.
    cli = {"name": "cli-sweep", "max_trials": 3, "sampler": "cmaes", "pruner": "hyperband", "max_concurrent": 2}
    spec = SWEEP | cli | {"base": SWEEP["base"] | {"epochs": 3}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = os.environ | {"GRADYARD_URL": stack.url, "GRADYARD_KEY": stack.key, "COLUMNS": "200"}
    env |= {"GRADYARD_CONFIG": "/nonexistent/config.toml"}
    run = [sys.executable, "-m", "cli"]
    followed = subprocess.run([*run, "sweep", str(path), "--follow"], env=env, capture_output=True, text=True)
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert "cli-sweep" in followed.stdout and "succeeded" in followed.stdout and "val_accuracy" in followed.stdout
    listed = subprocess.run([*run, "sweeps"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "cli-sweep" in listed.stdout and "max val_accuracy" in listed.stdout
