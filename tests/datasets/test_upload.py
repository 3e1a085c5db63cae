"""POST /datasets: each format parsed into the schema a user checks; dedup, isolation, delete."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from core.store import get_store
from tests.datasets import files
from tests.service.conftest import client_with_key, key_for


def upload(client: Any, filename: str, data: bytes, **fields: str) -> Any:
    """POST one file."""
    return client.post("/datasets", files={"file": (filename, data)}, data=fields)


def test_thermometer_csv_is_a_regression_on_t_c(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    response = upload(alice, "thermometer.csv", files.thermometer_csv())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["format"] == "csv" and body["rows"] == 11 and body["task"] == "regression"
    assert body["target"] == "t_c" and body["classes"] == [] and body["shape"] == [1]
    assert [(c["name"], c["dtype"], c["role"], c["nulls"]) for c in body["columns"]] == [
        ("t_u", "number", "feature", 0),
        ("t_c", "number", "target", 0),
    ]
    assert body["preview"][0] == {"t_u": 35.7, "t_c": 0.5}
    assert len(body["sha256"]) == 64 and body["bytes"] == len(files.thermometer_csv())
    assert response.headers["location"] == f"/datasets/{body['id']}"


def test_a_gzipped_tsv_with_categories_and_booleans(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    response = upload(alice, "churn.tsv.gz", files.gzipped(files.churn_csv("\t")), name="churn")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "churn" and body["task"] == "binary_classification" and body["classes"] == ["no", "yes"]
    dtypes = {c["name"]: (c["dtype"], c["categories"]) for c in body["columns"]}
    assert dtypes["plan"] == ("category", ["basic", "plus", "pro"])
    assert dtypes["paperless"] == ("boolean", ["false", "true"])
    assert body["shape"] == [3]


def test_parquet_with_an_integer_target_is_binary(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    body = upload(alice, "points.parquet", files.parquet_table()).json()
    assert (body["format"], body["rows"], body["task"], body["classes"]) == (
        "parquet",
        200,
        "binary_classification",
        ["0", "1"],
    )
    bob = client_with_key(app, key_for("bob"))
    regression = upload(bob, "points.parquet", files.parquet_table(), target="a", task="regression").json()
    assert (regression["task"], regression["target"], regression["shape"]) == ("regression", "a", [2])


def test_npz_multiclass_multilabel_and_images(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    x = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    multi = upload(alice, "m.npz", files.npz_arrays(x=x, y=np.arange(30) % 3)).json()
    assert (multi["task"], multi["classes"], multi["shape"]) == ("multiclass_classification", ["0", "1", "2"], [4])
    labels = (np.arange(60).reshape(30, 2) % 3 == 0).astype(np.float32)
    assert upload(alice, "l.npz", files.npz_arrays(x=x, y=labels)).json()["task"] == "multilabel_classification"
    images = np.zeros((30, 8, 8), dtype=np.uint8)
    pictures = upload(alice, "i.npz", files.npz_arrays(x=images, y=np.arange(30) % 2)).json()
    assert (pictures["inputs"], pictures["shape"]) == ("images", [1, 8, 8])


def test_image_archives_zip_and_tar(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    images = files.two_class_images()
    for name, data in (("shades.zip", files.image_zip(images)), ("shades.tar.gz", files.image_tar(images))):
        response = upload(alice, name, data)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["format"], body["rows"], body["classes"], body["shape"]) == (
            "images",
            16,
            ["dark", "light"],
            [1, 8, 8],
        )
        assert body["task"] == "binary_classification"


def test_the_same_bytes_answer_200_with_the_stored_dataset(app: FastAPI, store_dir: Path) -> None:
    alice = client_with_key(app, key_for("alice"))
    first = upload(alice, "thermometer.csv", files.thermometer_csv())
    files_after_first = get_store().count_files()
    again = upload(alice, "renamed.csv", files.thermometer_csv())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and get_store().count_files() == files_after_first == 2
    bob = client_with_key(app, key_for("bob"))
    theirs = upload(bob, "thermometer.csv", files.thermometer_csv())
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    assert get_store().count_files() == 2  # one copy of the bytes for both users


def test_another_users_dataset_is_the_same_404_and_admins_see_all(app: FastAPI) -> None:
    alice, bob = client_with_key(app, key_for("alice")), client_with_key(app, key_for("bob"))
    dataset_id = upload(alice, "thermometer.csv", files.thermometer_csv()).json()["id"]
    for response in (
        bob.get(f"/datasets/{dataset_id}"),
        bob.delete(f"/datasets/{dataset_id}"),
        bob.get("/datasets/no-such-id"),
    ):
        assert response.status_code == 404 and response.json()["title"] == "Dataset not found"
    assert bob.get("/datasets").json() == {"items": [], "next_cursor": None}
    assert [d["id"] for d in alice.get("/datasets").json()["items"]] == [dataset_id]
    admin = client_with_key(app, key_for("root", admin=True))
    assert admin.get(f"/datasets/{dataset_id}").status_code == 200


def test_delete_removes_the_row_and_the_files(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    dataset_id = upload(alice, "thermometer.csv", files.thermometer_csv()).json()["id"]
    assert get_store().count_files() == 2  # the bytes and their canonical form
    assert alice.delete(f"/datasets/{dataset_id}").status_code == 204
    assert alice.get(f"/datasets/{dataset_id}").status_code == 404
    assert get_store().count_files() == 0


def test_a_row_that_cannot_be_stored_leaves_no_files_but_keeps_shared_ones(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = client_with_key(app, key_for("alice")), client_with_key(app, key_for("bob"))
    assert upload(bob, "shared.csv", files.thermometer_csv() + b"1,1\n").status_code == 201

    def database_gone(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT INTO dataset", {}, ConnectionError("the database went away"))

    monkeypatch.setattr("core.repository.datasets.create_dataset", database_gone)
    for data in (files.thermometer_csv(), files.thermometer_csv() + b"1,1\n"):
        response = upload(alice, "t.csv", data)
        assert response.status_code == 503, response.text
    assert get_store().count_files() == 2  # bob's bytes and their canonical form; alice's own are gone
    monkeypatch.undo()
    assert [d["name"] for d in alice.get("/datasets").json()["items"]] == []
    assert upload(alice, "t.csv", files.thermometer_csv()).status_code == 201  # nothing half-stored blocks a retry


def test_list_pages_newest_first(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    ids = [upload(alice, f"t{i}.csv", files.thermometer_csv() + f"{i},{i}\n".encode()).json()["id"] for i in range(3)]
    page = alice.get("/datasets", params={"limit": 2}).json()
    assert [d["id"] for d in page["items"]] == ids[::-1][:2]
    rest = alice.get("/datasets", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in rest["items"]] == ids[:1] and rest["next_cursor"] is None
