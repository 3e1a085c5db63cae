"""A trained model out through the Python client and the `gradyard` verbs: download it, predict with it (rows,
records, a DataFrame, an array, a CSV file), and run its job again with changes."""

import csv
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from client import Client
from tests.e2e.clients.test_cli import gradyard
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
IRIS = {
    "dataset": {"name": "iris", "val_fraction": 0.2, "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [16]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 0.05},
    "epochs": 8,
    "batch_size": 32,
    "early_stopping": {"metric": "val_accuracy", "patience": 100},
}
ROWS = load_iris().data[::10].astype(np.float32)  # 15 flowers, 5 of each species


def _ready(client: Client, job_id: str) -> dict[str, Any]:
    """The job once its model's export has ended."""
    deadline = time.monotonic() + 120
    job = client.wait(job_id, poll_seconds=0.2, timeout=120)
    while job["model"] is not None and job["model"]["status"] == "exporting" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(job_id)
    return job


@pytest.fixture(scope="module")
def trained(live_stack: Stack) -> dict[str, Any]:
    """A succeeded iris job whose model is ready."""
    with Client(live_stack.url, live_stack.key) as client:
        job = _ready(client, client.submit(IRIS)["id"])
    assert job["status"] == "succeeded" and job["model"]["status"] == "ready", job
    return job


@pytest.fixture
def url(live_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live stack's base URL, its key in GRADYARD_KEY as a user would export it."""
    monkeypatch.setenv("GRADYARD_KEY", live_stack.key)
    return live_stack.url


@pytest.fixture
def client(live_stack: Stack) -> Client:
    """A client of the live stack."""
    return Client(live_stack.url, live_stack.key)


def _card(client: Client, job_id: str, tmp_path: Path) -> dict[str, Any]:
    bundle = tmp_path / "bundle.tar.gz"
    client.download_bundle(job_id, bundle)
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
        card = archive.extractfile(next(n for n in names if n.endswith("model.json")))
        assert card is not None
        return dict(json.load(card))


def test_the_downloaded_onnx_file_predicts_what_the_api_answers(
    client: Client, trained: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "iris.onnx"
    size = client.download_model(trained["id"], path, fmt="onnx")
    assert size == path.stat().st_size > 0
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    local = session.run(["prediction"], {"input": ROWS})[0]
    answer = client.predict(trained["id"], ROWS.tolist())
    assert answer["classes"] == ["setosa", "versicolor", "virginica"]
    assert answer["predictions"] == [answer["classes"][i] for i in local]
    assert np.allclose(np.sum(answer["probabilities"], axis=1), 1.0, atol=1e-5)
    # The flowers are easy: a trained model gets most of them.
    truth = load_iris().target[::10]
    assert np.mean(np.asarray(local) == truth) >= 0.8


def test_a_dataframe_records_and_an_array_give_the_same_predictions(
    client: Client, trained: dict[str, Any], tmp_path: Path
) -> None:
    names = [feature["name"] for feature in _card(client, trained["id"], tmp_path)["features"]]
    assert names == load_iris().feature_names
    by_rows = client.predict(trained["id"], ROWS.tolist())
    by_frame = client.predict(trained["id"], pd.DataFrame(ROWS, columns=names), chunk_rows=4)
    by_array = client.predict(trained["id"], ROWS)
    assert by_frame["predictions"] == by_rows["predictions"] == by_array["predictions"]
    assert np.allclose(by_frame["probabilities"], by_rows["probabilities"], atol=1e-6)


def test_gradyard_predict_reads_a_csv_and_writes_one(
    url: str, client: Client, trained: dict[str, Any], tmp_path: Path
) -> None:
    names = [feature["name"] for feature in _card(client, trained["id"], tmp_path)["features"]]
    rows = tmp_path / "flowers.csv"
    with rows.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(ROWS.tolist())
    done = gradyard("predict", trained["id"], str(rows), "--chunk", "4", url=url)
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    expected = client.predict(trained["id"], ROWS.tolist())
    assert [row["prediction"] for row in table] == expected["predictions"]
    assert list(table[0]) == ["row", "prediction", "p_setosa", "p_versicolor", "p_virginica"]


def test_gradyard_model_and_rerun_with_a_change(
    url: str, client: Client, trained: dict[str, Any], tmp_path: Path
) -> None:
    onnx = tmp_path / "m.onnx"
    done = gradyard("model", trained["id"], "--format", "onnx", "-o", str(onnx), url=url)
    assert done.returncode == 0, done.stderr
    assert f"wrote {onnx}" in done.stdout.replace("\n", "")
    best = tmp_path / "best.safetensors"
    done = gradyard("model", trained["id"], "--which", "best", "-o", str(best), url=url)
    assert done.returncode == 0, done.stderr
    assert best.read_bytes()[8:9] == b"{"  # safetensors: an 8-byte header length, then its JSON header
    done = gradyard("rerun", trained["id"], "--set", "optimizer.lr=0.01", "--set", "epochs=3", "-q", url=url)
    assert done.returncode == 0, done.stderr
    rerun = client.get(done.stdout.strip())
    assert rerun["rerun_of"] == trained["id"]
    assert rerun["spec"]["optimizer"]["lr"] == 0.01 and rerun["spec"]["epochs"] == 3
    assert rerun["spec"]["seed"] == trained["spec"]["seed"]


def test_a_model_of_a_job_that_has_not_succeeded_is_refused_with_its_status(url: str, client: Client) -> None:
    # No early stopping: with it, a fast machine ended this job (succeeded, model exporting) before the command ran.
    job = client.submit(IRIS | {"epochs": 100_000, "early_stopping": None})
    done = gradyard("model", job["id"], url=url)
    client.cancel(job["id"])
    assert done.returncode == 3  # refused
    assert "queued" in done.stderr or "running" in done.stderr  # the 409 names the job's status
