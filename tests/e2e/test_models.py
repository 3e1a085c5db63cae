"""A trained model out of the real stack (API and worker processes, Redis, SQLite and PostgreSQL): predictions over
HTTP on the validation split give back the job's recorded val_accuracy exactly, for a built-in and for an uploaded
dataset; a rerun on the CPU records the same history bit for bit; a rerun with a merge patch records its origin."""

import time
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tests.datasets import files
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
SEED = 7
DIGITS = {
    "dataset": {"name": "digits", "val_fraction": 0.2, "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [32]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 3,
    "batch_size": 64,
    "seed": SEED,
    "device": "cpu",
}


def trained(stack: Stack, spec: dict[str, Any]) -> dict[str, Any]:
    """Submit, wait for the job to succeed and its model to be exported; the job."""
    job = stack.wait(stack.submit(spec), timeout=240)
    assert job["status"] == "succeeded", (job["error"], stack.log_tail())
    deadline = time.monotonic() + 120
    while job["model"]["status"] == "exporting" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = stack.job(job["id"])
    assert job["model"]["status"] == "ready", (job["model"], stack.log_tail())
    return job


def validation_split(n: int, val_fraction: float, seed: int) -> np.ndarray:
    """The indices of the validation rows, as worker/data.py splits: the first round(n * val_fraction) of a seeded
    permutation."""
    return np.random.default_rng(seed).permutation(n)[: round(n * val_fraction)]


def recorded_accuracy(correct: int, n: int) -> float:
    """An accuracy as the worker records it: the float32 mean of the hits."""
    return float(np.float32(correct) / np.float32(n))


def predict(stack: Stack, job_id: str, body: dict[str, Any]) -> list[Any]:
    response = stack.http.post(f"/jobs/{job_id}/predict", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["predictions"])


def test_predictions_on_the_validation_split_give_digits_val_accuracy(stack: Stack) -> None:
    job = trained(stack, DIGITS)
    digits = load_digits()
    rows = validation_split(len(digits.target), 0.2, SEED)
    x, y = digits.images[rows].reshape(-1, 1, 8, 8), digits.target[rows]
    predicted = predict(stack, job["id"], {"inputs": x.tolist()})  # raw pixels: the graph standardises them
    correct = sum(p == str(label) for p, label in zip(predicted, y, strict=True))
    assert recorded_accuracy(correct, len(rows)) == job["metrics"]["val_accuracy"]["last"]


def churn_csv(n: int) -> bytes:
    """A churn table of n rows: tenure (number), plan (category), paperless (boolean), churned (yes/no)."""
    lines = ["tenure,plan,paperless,churned"]
    lines += [f"{t:g},{p},{str(b).lower()},{c}" for t, p, b, c in files.churn_rows(n)]
    return ("\n".join(lines) + "\n").encode()


def test_predictions_on_an_uploaded_tables_validation_split_give_its_val_accuracy(stack: Stack) -> None:
    upload = stack.http.post("/datasets", files={"file": ("churn.csv", churn_csv(300))}, timeout=60)
    assert upload.status_code in (200, 201), upload.text
    spec = DIGITS | {"dataset": {"name": "upload", "id": upload.json()["id"], "val_fraction": 0.2}, "epochs": 5}
    job = trained(stack, spec)
    table = files.churn_rows(300)
    rows = validation_split(len(table), 0.2, SEED)
    records = [{"tenure": table[i][0], "plan": table[i][1], "paperless": table[i][2]} for i in rows]
    predicted = predict(stack, job["id"], {"records": records})
    correct = sum(p == table[i][3] for p, i in zip(predicted, rows, strict=True))
    assert recorded_accuracy(correct, len(rows)) == job["metrics"]["val_accuracy"]["last"]


def history(stack: Stack, job_id: str) -> dict[str, tuple[list[int], list[float]]]:
    """Each metric's steps and values (the times differ from run to run)."""
    series = stack.metrics(job_id)["metrics"]
    return {name: (s["step"], s["value"]) for name, s in series.items()}


def test_a_rerun_on_the_cpu_records_the_same_history_bit_for_bit(stack: Stack) -> None:
    first = stack.wait(stack.submit(DIGITS), timeout=240)
    assert first["status"] == "succeeded", first["error"]
    answer = stack.http.post(f"/jobs/{first['id']}/rerun")
    assert answer.status_code == 201, answer.text
    rerun = stack.wait(answer.json()["id"], timeout=240)
    assert (rerun["status"], rerun["rerun_of"], rerun["spec"]) == ("succeeded", first["id"], first["spec"])
    assert history(stack, rerun["id"]) == history(stack, first["id"])  # == on floats: bit for bit


def test_a_rerun_with_a_patch_records_its_origin_and_the_new_value(stack: Stack) -> None:
    first = stack.wait(stack.submit(DIGITS | {"epochs": 1}), timeout=240)
    answer = stack.http.post(f"/jobs/{first['id']}/rerun", json={"optimizer": {"lr": 0.01}})
    assert answer.status_code == 201, answer.text
    rerun = stack.wait(answer.json()["id"], timeout=240)
    assert (rerun["status"], rerun["rerun_of"]) == ("succeeded", first["id"])
    assert rerun["spec"]["optimizer"] == first["spec"]["optimizer"] | {"lr": 0.01}
    assert history(stack, rerun["id"])["lr"][1] == [0.01]
    events = stack.http.get(f"/jobs/{rerun['id']}").json()["events"]
    assert events[0]["detail"] == f"rerun of {first['id']}"
