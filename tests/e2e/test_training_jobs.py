"""A user's path over HTTP: submit, watch, read the history, cancel; with the real API, worker, Redis and database."""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

THERMOMETER = {
    "name": "thermometer",
    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
    "model": {"name": "linear"},
    "loss": {"name": "mse"},
    "optimizer": {"name": "sgd", "lr": 1e-2},
    "epochs": 5000,
    "batch_size": None,
}
DIGITS = {
    "name": "digits-mlp-adam",
    "dataset": {"name": "digits", "val_fraction": 0.2},
    "model": {"name": "mlp", "hidden": [128]},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 20,
    "batch_size": 64,
}
# Short epochs (a fraction of a second), many of them: long enough to watch; every test that starts it cancels it.
LONG = {
    "name": "long",
    "dataset": {"name": "synthetic_classification", "n_samples": 20_000, "n_features": 16},
    "model": {"name": "mlp", "hidden": [64]},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "epochs": 1000,
    "batch_size": 128,
}


def test_thermometer_job_reaches_the_optimum(stack: Stack) -> None:
    job = stack.wait(stack.submit(THERMOMETER))
    assert job["status"] == "succeeded", job["error"]
    assert job["attempt"] == 1 and job["progress"] == {"epoch": 5000, "epochs": 5000, "step": 5000}
    assert 2.92 < job["metrics"]["train_loss"]["last"] < 3.0  # the least-squares optimum is 2.93
    history = stack.metrics(job["id"])
    assert set(history["metrics"]) == {"train_loss", "lr"}
    loss = history["metrics"]["train_loss"]
    assert loss["step"] == list(range(1, 5001)) and loss["epoch"] == list(range(1, 5001))
    assert loss["value"][-1] == job["metrics"]["train_loss"]["last"]
    assert loss["time"] == sorted(loss["time"]) and loss["time"][-1] > 0


def test_history_can_be_read_in_parts_and_downsampled(stack: Stack) -> None:
    job = stack.wait(stack.submit(THERMOMETER | {"epochs": 500}))
    tail = stack.metrics(job["id"], after_step=490, names="train_loss")
    assert list(tail["metrics"]) == ["train_loss"] and tail["metrics"]["train_loss"]["step"] == list(range(491, 501))
    full = stack.metrics(job["id"], names="train_loss")["metrics"]["train_loss"]
    small = stack.metrics(job["id"], names="train_loss", max_points=50)["metrics"]["train_loss"]
    assert len(small["step"]) <= 51 and small["step"][0] == 1 and small["step"][-1] == 500
    assert min(small["value"]) == min(full["value"]) and max(small["value"]) == max(full["value"])


def test_digits_job_reaches_95_percent(stack: Stack) -> None:
    job = stack.wait(stack.submit(DIGITS))
    assert job["status"] == "succeeded", job["error"]
    assert job["metrics"]["val_accuracy"]["last"] >= 0.95
    history = stack.metrics(job["id"])["metrics"]
    assert set(history) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_top5_accuracy", "lr"}
    assert all(series["epoch"] == list(range(1, 21)) for series in history.values())


@contextmanager
def long_job(stack: Stack) -> Iterator[str]:
    """A long job that is cancelled however the test ends, so that it never holds the worker for the next test."""
    job_id = stack.submit(LONG)
    try:
        yield job_id
    finally:
        stack.http.post(f"/jobs/{job_id}/cancel")
        stack.wait(job_id)


def test_history_grows_while_the_job_runs_and_cancel_stops_it(stack: Stack) -> None:
    with long_job(stack) as job_id:
        _watch_then_cancel(stack, job_id)


def _watch_then_cancel(stack: Stack, job_id: str) -> None:
    stack.wait(job_id, {"running"})
    counts = []
    deadline = time.monotonic() + 60
    while len(set(counts)) < 3 and time.monotonic() < deadline:
        history = stack.metrics(job_id, names="train_loss")
        assert history["status"] == "running"
        counts.append(len(history["metrics"].get("train_loss", {}).get("step", [])))
        time.sleep(0.2)
    assert len(set(counts)) >= 3 and counts == sorted(counts), counts  # epochs grew, live
    asked = time.monotonic()
    assert stack.http.post(f"/jobs/{job_id}/cancel").status_code == 202
    job = stack.wait(job_id, timeout=10)
    assert job["status"] == "cancelled" and time.monotonic() - asked < 2.0
    assert job["progress"]["epoch"] < LONG["epochs"]
    assert len(stack.metrics(job_id)["metrics"]["train_loss"]["step"]) >= counts[-1]


def test_a_cancelled_queued_job_never_starts(stack: Stack) -> None:
    with long_job(stack) as running:
        stack.wait(running, {"running"})
        queued = stack.submit(THERMOMETER)
        assert stack.http.post(f"/jobs/{queued}/cancel").json()["status"] == "cancelled"
    after = stack.wait(stack.submit(THERMOMETER | {"epochs": 10}))  # queued behind the cancelled job's message
    assert after["status"] == "succeeded"
    job = stack.job(queued)
    assert (job["status"], job["attempt"], job["started_at"]) == ("cancelled", 0, None)
    assert stack.metrics(queued)["metrics"] == {}


def test_a_diverging_job_fails_with_a_readable_error(stack: Stack) -> None:
    spec = THERMOMETER | {
        "dataset": {"name": "thermometer", "val_fraction": 0.0},
        "optimizer": {"name": "sgd", "lr": 1.0},
    }
    job = stack.wait(stack.submit(spec))
    assert (job["status"], job["reason"]) == ("failed", "diverged")
    # It grows a million-fold long before it overflows: the job ends while every point is still a number.
    assert job["error"].startswith("diverged: train_loss is ")
    assert "more than 1e+06 times its first value" in job["error"]
    values = stack.metrics(job["id"])["metrics"]["train_loss"]["value"]
    assert all(math.isfinite(v) for v in values) and values[-1] > 1e6 * values[0]


def test_a_cuda_job_in_a_pool_of_cpu_workers_is_refused_and_says_why(stack: Stack) -> None:
    deadline = time.monotonic() + 60  # admission knows the pool's devices once its worker has registered
    while not any(p["name"] == "default" and p["workers_registered"] for p in stack.http.get("/pools").json()["items"]):
        assert time.monotonic() < deadline, stack.log_tail()
        time.sleep(0.1)
    response = stack.http.post("/jobs", json=DIGITS | {"device": "cuda", "epochs": 1})
    if response.status_code == 201:
        stack.http.post(f"/jobs/{response.json()['id']}/cancel")
        pytest.skip("this worker has CUDA")
    assert response.status_code == 422, response.text
    (problem,) = response.json()["errors"]
    assert (problem["loc"], problem["type"]) == (["body", "device"], "pool_has_no_gpu")
    assert problem["msg"].startswith("device 'cuda' cannot run in pool 'default': its 1 registered worker(s) have no")
