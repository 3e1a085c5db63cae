"""POST /jobs on an upload: checked against the stored schema, pinned by sha256; a dataset in use is not deleted."""

from typing import Any

from fastapi import FastAPI

from tests.datasets import files
from tests.datasets.test_upload import upload
from tests.service.conftest import client_with_key, key_for

LINEAR = {"model": "linear", "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.01}, "epochs": 5}


def job(dataset: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A job spec on this dataset."""
    return LINEAR | {"dataset": {"name": "upload", **dataset}} | more


def test_the_resolved_spec_pins_the_hash_and_the_columns(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    dataset = upload(alice, "thermometer.csv", files.thermometer_csv()).json()
    response = alice.post("/jobs", json=job({"id": dataset["id"], "val_fraction": 0.0}))
    assert response.status_code == 201, response.text
    resolved = response.json()["spec"]["dataset"]["resolved"]
    assert resolved["sha256"] == dataset["sha256"] and resolved["label"] == "thermometer.csv"
    assert (resolved["task"], resolved["input_shape"], resolved["rows"]) == ("regression", [1], 11)
    assert [c["name"] for c in resolved["features"]] == ["t_u"] and resolved["target"]["name"] == "t_c"


def test_pairing_checks_name_the_uploaded_file(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    x = files.np.zeros((30, 2), files.np.float32)
    dataset = upload(alice, "three.npz", files.npz_arrays(x=x, y=files.np.arange(30) % 3)).json()
    response = alice.post("/jobs", json=job({"id": dataset["id"]}, loss="bce_with_logits"))
    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "loss 'bce_with_logits' needs two classes or multi-label targets, but dataset 'three.npz' has 3 classes"
    )


def test_unknown_columns_text_features_and_missing_values_name_the_column(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    rows = [f"{i},{'' if i == 3 else i * 2},id{i},{i % 2}" for i in range(150)]
    data = ("a,b,ident,y\n" + "\n".join(rows) + "\n").encode()
    dataset_id = upload(alice, "holes.csv", data).json()["id"]

    def refused(dataset: dict[str, Any]) -> list[tuple[list[str], str]]:
        response = alice.post("/jobs", json=job({"id": dataset_id, **dataset}, loss="cross_entropy", model="mlp"))
        assert response.status_code == 422, response.text
        return [(e["loc"], e["msg"]) for e in response.json()["errors"]]

    assert refused({"target": "price"}) == [
        (
            ["body", "dataset", "target"],
            "dataset 'holes.csv' has no column 'price'; its columns: 'a', 'b', 'ident', 'y'",
        )
    ]
    assert refused({"features": ["a", "nope"]}) == [
        (
            ["body", "dataset", "features"],
            "dataset 'holes.csv' has no column 'nope'; its columns: 'a', 'b', 'ident', 'y'",
        )
    ]
    assert refused({"features": ["a", "ident"]})[0][1].startswith("column 'ident' of dataset 'holes.csv' holds text")
    assert refused({"features": ["a", "b"]}) == [
        (
            ["body", "dataset", "missing"],
            "column 'b' of dataset 'holes.csv' has 1 missing values: set dataset.missing to 'drop_rows' or 'mean', "
            "or leave the column out",
        )
    ]
    dropped = alice.post(
        "/jobs",
        json=job({"id": dataset_id, "features": ["a", "b"], "missing": "drop_rows"}, loss="cross_entropy", model="mlp"),
    )
    assert dropped.status_code == 201 and dropped.json()["spec"]["dataset"]["resolved"]["rows"] == 149


def test_another_users_dataset_is_not_found_for_a_job(app: FastAPI) -> None:
    alice, bob = client_with_key(app, key_for("alice")), client_with_key(app, key_for("bob"))
    dataset_id = upload(alice, "thermometer.csv", files.thermometer_csv()).json()["id"]
    response = bob.post("/jobs", json=job({"id": dataset_id}))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "dataset", "id"]
    assert response.json()["detail"] == f"no dataset has id '{dataset_id}': upload one with POST /datasets"


def test_a_dataset_a_queued_job_needs_is_409_until_the_job_ends(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    dataset_id = upload(alice, "thermometer.csv", files.thermometer_csv()).json()["id"]
    job_id = alice.post("/jobs", json=job({"id": dataset_id, "val_fraction": 0.0})).json()["id"]
    refused = alice.delete(f"/datasets/{dataset_id}")
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"dataset 'thermometer.csv' is used by queued or running job(s) {job_id}"
    assert alice.post(f"/jobs/{job_id}/cancel").status_code == 202
    assert alice.delete(f"/datasets/{dataset_id}").status_code == 204
    assert alice.get(f"/jobs/{job_id}").json()["spec"]["dataset"]["id"] == dataset_id  # the job keeps its record
