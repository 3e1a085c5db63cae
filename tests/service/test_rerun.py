"""POST /jobs/{id}/rerun: the same resolved spec again (an upload by its bytes' sha256), changed by a JSON merge
patch and admitted exactly as POST /jobs admits a spec: a patch that breaks the spec gets POST /jobs's own 422."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.merge_patch import merge_patch
from tests.datasets import files
from tests.service import trained

SGD_WITH_STOPPING = trained.DIGITS_SPEC | {
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "early_stopping": {"metric": "val_loss", "patience": 2},
}


def ended(client: TestClient, spec: dict[str, Any], status: str = "succeeded") -> dict[str, Any]:
    job = client.post("/jobs", json=spec).json()
    trained.end_job(job["id"], status=status, model_status="unavailable")  # a rerun needs no model
    return dict(client.get(f"/jobs/{job['id']}").json())


def test_a_rerun_is_the_same_spec_with_the_patch_and_records_its_origin(client: TestClient) -> None:
    job = ended(client, SGD_WITH_STOPPING)
    answer = client.post(f"/jobs/{job['id']}/rerun", json={"optimizer": {"lr": 0.01}, "early_stopping": None})
    assert answer.status_code == 201, answer.text
    rerun = answer.json()
    assert answer.headers["location"] == f"/jobs/{rerun['id']}"
    assert (rerun["rerun_of"], rerun["status"], rerun["model"]) == (job["id"], "queued", None)
    expected = job["spec"] | {"optimizer": job["spec"]["optimizer"] | {"lr": 0.01}, "early_stopping": None}
    assert rerun["spec"] == expected  # seed, name and every default as they were
    events = client.get(f"/jobs/{rerun['id']}").json()["events"]
    assert [(e["status"], e["detail"]) for e in events] == [("queued", f"rerun of {job['id']}")]
    same = client.post(f"/jobs/{job['id']}/rerun").json()
    assert (same["spec"], same["rerun_of"]) == (job["spec"], job["id"])


def test_a_failed_job_can_be_rerun_with_a_patch(client: TestClient) -> None:
    job = ended(client, SGD_WITH_STOPPING, status="failed")
    rerun = client.post(
        f"/jobs/{job['id']}/rerun",
        content=b'{"optimizer": {"lr": 0.001}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert (rerun.status_code, rerun.json()["spec"]["optimizer"]["lr"]) == (201, 0.001)


@pytest.mark.parametrize(
    "patch",
    [
        {"optimizer": {"lr": -1}},  # a field out of its bounds
        {"epochs": "ten"},  # a string where a number goes
        {"optimizer": {"name": "rmsprop_v2"}},  # a component that does not exist
        {"loss": "mse"},  # a loss that cannot train digits' classes
        {"dataset": None},  # a required part removed
    ],
)
def test_a_patch_that_breaks_the_spec_gets_the_422_of_post_jobs(client: TestClient, patch: dict[str, Any]) -> None:
    job = ended(client, trained.DIGITS_SPEC)
    rerun = client.post(f"/jobs/{job['id']}/rerun", json=patch)
    direct = client.post("/jobs", json=merge_patch(job["spec"], patch))
    assert rerun.status_code == 422
    assert (rerun.json(), rerun.headers["content-type"]) == (direct.json(), direct.headers["content-type"])


def test_a_patch_must_be_an_object(client: TestClient) -> None:
    job = ended(client, trained.DIGITS_SPEC)
    answer = client.post(f"/jobs/{job['id']}/rerun", json=[{"op": "replace", "path": "/epochs", "value": 3}])
    assert (answer.status_code, answer.json()["errors"][0]["loc"]) == (422, ["body"])


def test_an_upload_is_rerun_on_the_same_bytes_found_by_their_sha256(client: TestClient) -> None:
    first = client.post("/datasets", files={"file": ("churn.csv", files.churn_csv())}).json()
    spec = trained.DIGITS_SPEC | {"dataset": {"name": "upload", "id": first["id"]}, "loss": "cross_entropy"}
    job = ended(client, spec)
    assert job["spec"]["dataset"]["resolved"]["sha256"] == first["sha256"]
    assert client.delete(f"/datasets/{first['id']}").status_code == 204
    gone = client.post(f"/jobs/{job['id']}/rerun")
    assert gone.status_code == 422
    assert gone.json()["errors"][0]["loc"] == ["body", "dataset", "id"]
    assert f"sha256:{first['sha256']}" in gone.json()["detail"]
    again = client.post("/datasets", files={"file": ("same-bytes.csv", files.churn_csv())}).json()
    rerun = client.post(f"/jobs/{job['id']}/rerun").json()
    assert rerun["spec"]["dataset"]["id"] == again["id"] != first["id"]  # the same bytes, stored again
    resolved = job["spec"]["dataset"]["resolved"] | {"label": "same-bytes.csv"}  # the name it was stored under
    assert rerun["spec"]["dataset"]["resolved"] == resolved
