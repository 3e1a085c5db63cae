"""Uploaded datasets on the real stack (API and worker processes, Redis, SQLite and PostgreSQL): each format uploaded
and trained on; the thermometer CSV and a digits image archive reach their built-ins' numbers; a streamed body over
the limit gets its 413."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from cli.redis_server import RedisServer
from tests.conftest import DIALECTS, create_database
from tests.datasets import files
from tests.e2e.stack import Stack, create_key, launch_stack
from tests.e2e.test_training_jobs import THERMOMETER

pytestmark = pytest.mark.e2e
UPLOAD_LIMIT = 5_000_000
DIGITS = {
    "dataset": {"name": "digits", "val_fraction": 0.2, "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [128]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 20,
    "batch_size": 64,
}


@pytest.fixture(scope="module", params=DIALECTS)
def stack(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The stack with a small upload limit, so a test can stream past it."""
    workdir = tmp_path_factory.mktemp(f"datasets-{request.param}")
    url, drop = create_database(request.param, workdir)
    env = {"GRADYARD_FLUSH_SECONDS": "0.2", "GRADYARD_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}
    try:
        with launch_stack(database_url=url, broker_url=redis_server.url, workdir=workdir, env=env) as running:
            yield running
    finally:
        drop()


def store_files(stack: Stack) -> int:
    """Dataset files under the stack's artifact store, unfinished writes included (checkpoints live beside them)."""
    root = Path(stack.env["GRADYARD_ARTIFACT_DIR"])
    return sum(len(names) for part in ("datasets", ".incoming") for _, _, names in os.walk(root / part))


def upload(stack: Stack, filename: str, data: bytes, **fields: str) -> dict[str, Any]:
    """Upload a file; the stored dataset."""
    response = stack.http.post("/datasets", files={"file": (filename, data)}, data=fields, timeout=60)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def train(stack: Stack, spec: dict[str, Any], timeout: float = 240) -> dict[str, Any]:
    """Submit and wait; the finished job, which must have succeeded."""
    job = stack.wait(stack.submit(spec), timeout=timeout)
    assert job["status"] == "succeeded", (job.get("error"), stack.log_tail())
    return job


def on_upload(spec: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    """The spec with its dataset swapped for an upload (same split and normalisation)."""
    built_in = {k: v for k, v in spec["dataset"].items() if k != "name"}
    return spec | {"dataset": {"name": "upload", "id": dataset_id, **built_in}}


def test_the_thermometer_csv_reaches_the_built_ins_mse(stack: Stack) -> None:
    dataset = upload(stack, "thermometer.csv", files.thermometer_csv())
    uploaded = train(stack, on_upload(THERMOMETER, dataset["id"]))
    built_in = train(stack, THERMOMETER)
    loss = uploaded["metrics"]["train_loss"]["last"]
    assert 2.92 < loss < 3.0  # the least-squares optimum, 2.93
    assert loss == pytest.approx(built_in["metrics"]["train_loss"]["last"], rel=1e-6)
    assert uploaded["spec"]["dataset"]["resolved"]["sha256"] == dataset["sha256"]


def _digits_archive() -> bytes:
    digits = load_digits()
    pixels = (digits.images * 15).astype(np.uint8)  # 0..16 to 0..240: a linear map, so standardised inputs agree
    names = [str(n) for n in range(10)]
    # The archive keeps sklearn's order, so the seeded split picks the same samples as the built-in's.
    return files.image_zip(
        {
            f"{names[label]}/{i:04d}.png": files.png(image)
            for i, (image, label) in enumerate(zip(pixels, digits.target, strict=True))
        }
    )


def test_a_digits_image_archive_reaches_the_built_ins_accuracy(stack: Stack) -> None:
    dataset = upload(stack, "digits.zip", _digits_archive())
    assert (dataset["rows"], dataset["shape"], dataset["classes"]) == (1797, [1, 8, 8], [str(n) for n in range(10)])
    uploaded = train(stack, on_upload(DIGITS, dataset["id"]))
    built_in = train(stack, DIGITS)
    ours, theirs = uploaded["metrics"]["val_accuracy"]["last"], built_in["metrics"]["val_accuracy"]["last"]
    assert theirs > 0.95 and abs(ours - theirs) <= 0.02


def test_parquet_tsv_and_npz_uploads_train(stack: Stack) -> None:
    parquet = upload(stack, "points.parquet", files.parquet_table())
    mlp = {"model": {"name": "mlp", "hidden": [16]}, "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 30}
    job = train(stack, mlp | {"dataset": {"name": "upload", "id": parquet["id"]}, "loss": "cross_entropy"})
    assert job["metrics"]["val_accuracy"]["last"] >= 0.9  # the label is a + b > 0: nearly separable
    churn = upload(stack, "churn.tsv.gz", files.gzipped(files.churn_csv("\t")))
    job = train(
        stack,
        mlp | {"dataset": {"name": "upload", "id": churn["id"], "normalize": "standard"}, "loss": "bce_with_logits"},
    )
    assert job["spec"]["dataset"]["resolved"]["input_shape"] == [5]  # tenure, plan one-hot (3), paperless
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype(np.float32)
    labels = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0], axis=1).astype(np.float32)
    npz = upload(stack, "labels.npz", files.npz_arrays(x=x, y=labels))
    job = train(stack, mlp | {"dataset": {"name": "upload", "id": npz["id"]}, "loss": "bce_with_logits"})
    assert job["metrics"]["val_accuracy"]["last"] >= 0.8


def _body(total: int) -> Iterator[bytes]:
    boundary = b"gyboundary"
    yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\na,b\n'
    chunk = b"1,2\n" * 16384
    for _ in range(total // len(chunk)):
        yield chunk
    yield b"\r\n--" + boundary + b"--\r\n"


def test_a_streamed_upload_over_the_limit_gets_its_413_and_leaves_nothing(stack: Stack) -> None:
    before = store_files(stack)
    headers = {"content-type": "multipart/form-data; boundary=gyboundary"}
    response = stack.http.post("/datasets", content=_body(3 * UPLOAD_LIMIT), headers=headers, timeout=60)
    assert response.status_code == 413, response.text
    assert (
        response.json()["detail"]
        == f"the file is larger than {UPLOAD_LIMIT:,} bytes (this server's limit, or your quota)"
    )
    assert store_files(stack) == before


def test_a_streamed_20_mb_job_body_gets_its_413(stack: Stack) -> None:
    body = (b"x" * 65536 for _ in range(320))  # 20 MiB, sent chunked: no declared length to refuse up front
    response = stack.http.post("/jobs", content=body, headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 413
    assert response.json()["detail"] == "the request body is larger than 1,048,576 bytes"


def test_a_dataset_in_use_is_409_then_deleted_with_its_files(stack: Stack) -> None:
    before = store_files(stack)
    dataset = upload(stack, "thermometer2.csv", files.thermometer_csv() + b"40.0,3.0\n")
    assert store_files(stack) == before + 2
    job_id = stack.submit(on_upload(THERMOMETER | {"epochs": 100_000}, dataset["id"]))
    assert stack.http.delete(f"/datasets/{dataset['id']}").status_code == 409
    stack.http.post(f"/jobs/{job_id}/cancel")
    stack.wait(job_id)
    assert stack.http.delete(f"/datasets/{dataset['id']}").status_code == 204
    assert store_files(stack) == before


@pytest.mark.parametrize(
    ("filename", "data", "status", "says"),
    [
        ("empty.csv", b"", 422, "empty.csv: the file is empty"),
        ("sheet.xlsx", b"PK\x03\x04whatever", 415, "sheet.xlsx: unsupported format"),
        ("p.npz", files.pickled_npz(), 422, "p.npz: arrays of Python objects (pickled) are refused"),
    ],
    ids=["empty", "unknown format", "pickled npz"],
)
def test_a_bad_upload_over_http_is_refused_and_stores_nothing(
    stack: Stack, filename: str, data: bytes, status: int, says: str
) -> None:
    before, listed = store_files(stack), stack.http.get("/datasets").json()["items"]
    response = stack.http.post("/datasets", files={"file": (filename, data)}, timeout=60)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]
    assert store_files(stack) == before and stack.http.get("/datasets").json()["items"] == listed


def test_the_same_bytes_are_stored_once_and_another_user_cannot_see_or_train_on_them(stack: Stack) -> None:
    before = store_files(stack)
    data = files.thermometer_csv() + b"41.0,3.5\n"  # bytes no other test uploads
    first = stack.http.post("/datasets", files={"file": ("mine.csv", data)})
    again = stack.http.post("/datasets", files={"file": ("mine-again.csv", data)})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"] and store_files(stack) == before + 2
    dataset_id = first.json()["id"]
    other = {"Authorization": f"Bearer {create_key(stack.env, 'datasets-stranger')}"}
    assert stack.http.get(f"/datasets/{dataset_id}", headers=other).status_code == 404
    assert stack.http.delete(f"/datasets/{dataset_id}", headers=other).status_code == 404
    refused = stack.http.post("/jobs", json=on_upload(THERMOMETER, dataset_id), headers=other)
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "dataset", "id"]
    assert refused.json()["detail"] == f"no dataset has id '{dataset_id}': upload one with POST /datasets"


def test_the_cli_uploads_shows_and_trains_the_example(stack: Stack) -> None:
    key = create_key(stack.env, "datasets-cli")  # a user of its own: the file is new to them, so it takes --name

    def gradyard(*args: str) -> subprocess.CompletedProcess[str]:
        env = os.environ | {"GRADYARD_URL": stack.url, "GRADYARD_KEY": key, "COLUMNS": "200"}
        env |= {"GRADYARD_CONFIG": "/nonexistent/config.toml"}
        return subprocess.run(
            [sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=180
        )

    uploaded = gradyard("datasets", "upload", str(files.EXAMPLES / "thermometer.csv"), "--name", "thermo")
    assert uploaded.returncode == 0, uploaded.stderr
    dataset_id = uploaded.stdout.split()[0]
    assert uploaded.stdout.strip().endswith("thermo: 11 rows, regression")
    shown = gradyard("datasets", "show", dataset_id)
    assert "t_c" in shown.stdout and "target" in shown.stdout and "35.7" in shown.stdout
    assert dataset_id in gradyard("datasets", "list").stdout
    trained = gradyard("submit", str(files.EXAMPLES / "thermometer-csv.yaml"), "--follow", "--poll", "0.2")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "2.928" in trained.stdout  # train_loss, the least-squares optimum (4 significant digits)
    images = gradyard("datasets", "upload", str(files.EXAMPLES / "digits-images.zip"))
    assert images.returncode == 0 and "60 rows" in images.stdout, images.stdout + images.stderr
    on_images = gradyard("submit", str(files.EXAMPLES / "digits-images.yaml"), "--follow", "--poll", "0.2")
    assert on_images.returncode == 0, on_images.stdout + on_images.stderr  # named by sha256, it trains to the end
    assert gradyard("datasets", "rm", dataset_id).stdout.strip() == f"deleted {dataset_id}"
    refused = gradyard("datasets", "show", dataset_id)
    assert refused.returncode == 3 and f"no dataset has id '{dataset_id}'" in refused.stderr
