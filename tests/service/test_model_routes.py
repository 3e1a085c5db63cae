"""A job's model over HTTP: its state on GET /jobs/{id}, the files with their sha256 as ETag, the bundle, and the
answers for a job that has no model to give (409 with its status, 404 for a file it never had, 404 for another
user's job)."""

import io
import tarfile

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from safetensors.numpy import load

from core import repository
from core.db import session_scope
from core.tables import Job
from tests.service import trained
from tests.service.conftest import client_with_key, key_for

PROBLEM = "application/problem+json"


def test_a_ready_model_shows_on_its_job_and_downloads_with_its_sha256_as_etag(client: TestClient) -> None:
    job_id = trained.trained_job(client, "digits", best=True)
    job = client.get(f"/jobs/{job_id}").json()
    assert (job["rerun_of"], job["bytes_held"], job["model"]["status"], job["model"]["detail"]) == (
        None,
        0,
        "ready",
        None,
    )
    files = {(f["which"], f["format"]): f for f in job["model"]["files"]}
    assert sorted(files) == [("best", "onnx"), ("best", "safetensors"), ("final", "onnx"), ("final", "safetensors")]
    assert (files["final", "onnx"]["max_abs_diff"], files["final", "safetensors"]["max_abs_diff"]) == (2.4e-7, None)
    assert (files["best", "safetensors"]["metric"], files["best", "safetensors"]["value"]) == ("val_loss", 0.25)
    model = trained.exported("digits")

    weights = client.get(f"/jobs/{job_id}/model")
    assert weights.status_code == 200 and weights.content == model.safetensors
    assert weights.headers["etag"] == f'"{files["final", "safetensors"]["sha256"]}"'
    assert (
        weights.headers["content-disposition"]
        == f'attachment; filename="digits-mlp-adam-{job_id[:8]}-final.safetensors"'
    )
    assert sorted(load(weights.content)) == sorted(model.module.state_dict())  # safetensors: no pickle to load it
    again = client.get(f"/jobs/{job_id}/model", headers={"If-None-Match": weights.headers["etag"]})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", weights.headers["etag"])

    onnx = client.get(
        f"/jobs/{job_id}/model", params={"format": "onnx", "which": "best"}, headers={"Range": "bytes=0-9"}
    )
    assert onnx.status_code == 200 and onnx.content == model.onnx  # whole: a range is not served
    assert onnx.headers["etag"] == f'"{files["best", "onnx"]["sha256"]}"'


def test_format_and_which_are_checked(client: TestClient) -> None:
    job_id = trained.trained_job(client, "digits")
    unknown = client.get(f"/jobs/{job_id}/model", params={"format": "pt"})
    assert (unknown.status_code, unknown.headers["content-type"]) == (422, PROBLEM)
    assert unknown.json()["errors"][0]["loc"] == ["query", "format"]
    assert client.get(f"/jobs/{job_id}/model", params={"which": "last"}).json()["errors"][0]["loc"] == [
        "query",
        "which",
    ]
    best = client.get(f"/jobs/{job_id}/model", params={"which": "best"})
    assert (best.status_code, best.headers["content-type"]) == (404, PROBLEM)
    assert best.json()["detail"] == (
        f"job {job_id} has no best weights: it tracked no metric (no early_stopping in its spec), so it kept no "
        "best weights: ask for which=final"
    )


def test_a_model_that_could_not_export_to_onnx_says_why(client: TestClient) -> None:
    job_id = trained.trained_job(client, "price", onnx=False)
    model = client.get(f"/jobs/{job_id}").json()["model"]
    assert model["onnx_unavailable"] == "the model uses an operator ONNX cannot express"
    assert [f["format"] for f in model["files"]] == ["safetensors"]
    why = f"job {job_id} has no ONNX file: the model uses an operator ONNX cannot express"
    for answer in (
        client.get(f"/jobs/{job_id}/model", params={"format": "onnx"}),
        client.post(f"/jobs/{job_id}/predict", json={"inputs": [[1, 2, 3]]}),
    ):
        assert (answer.status_code, answer.json()["title"], answer.json()["detail"]) == (404, "Model not found", why)
    assert client.get(f"/jobs/{job_id}/model").status_code == 200


def test_the_bundle_holds_the_model_and_its_provenance(client: TestClient) -> None:
    job_id = trained.trained_job(client, "digits")
    job = client.get(f"/jobs/{job_id}").json()
    answer = client.get(f"/jobs/{job_id}/bundle")
    assert (answer.status_code, answer.headers["content-type"]) == (200, "application/gzip")
    folder = f"digits-mlp-adam-{job_id[:8]}"
    assert answer.headers["content-disposition"] == f'attachment; filename="{folder}.tar.gz"'
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        files = {m.name.removeprefix(folder + "/"): archive.extractfile(m).read() for m in archive}  # type: ignore[union-attr]
    assert sorted(files) == sorted(
        ["final.safetensors", "final.onnx", "model.json", "environment.json", "spec.json", "metrics.csv"]
    )
    model = trained.exported("digits")
    assert (files["final.safetensors"], files["final.onnx"]) == (model.safetensors, model.onnx)
    assert orjson.loads(files["model.json"])["job_id"] == job_id
    assert orjson.loads(files["spec.json"]) == job["spec"]
    assert orjson.loads(files["environment.json"])["seed"] == 0
    assert files["metrics.csv"].decode().splitlines() == [
        "name,step,epoch,value,time",
        "train_loss,10,1,0.5,15.0",
        "train_loss,20,2,0.25,30.0",
        "val_loss,10,1,0.5,15.0",
        "val_loss,20,2,0.25,30.0",
    ]


def routes(job_id: str) -> list[tuple[str, str, dict[str, object]]]:
    """Every model route of a job: (method, path, JSON body)."""
    return [
        ("GET", f"/jobs/{job_id}/model", {}),
        ("GET", f"/jobs/{job_id}/bundle", {}),
        ("POST", f"/jobs/{job_id}/predict", {"json": {"inputs": [[0] * 64]}}),
    ]


def test_a_job_that_has_not_succeeded_has_no_model(client: TestClient) -> None:
    queued = client.post("/jobs", json=trained.DIGITS_SPEC).json()["id"]
    for method, path, body in routes(queued):
        answer = client.request(method, path, **body)  # type: ignore[arg-type]
        assert (answer.status_code, answer.headers["content-type"]) == (409, PROBLEM), path
        assert answer.json()["detail"] == f"job {queued} is queued: a job has a model once it has succeeded"
    rerun = client.post(f"/jobs/{queued}/rerun")
    assert (rerun.status_code, rerun.json()["detail"]) == (409, f"job {queued} is queued: rerun it once it has ended")
    assert client.get(f"/jobs/{queued}").json()["model"] is None
    trained.end_job(queued, status="failed")
    assert "is failed" in client.get(f"/jobs/{queued}/model").json()["detail"]


@pytest.mark.parametrize(
    ("state", "detail", "answer"),
    [
        ("exporting", None, "succeeded and its model is being exported: retry in a few seconds"),
        ("unavailable", "the export ran out of memory", "has no model to serve: the export ran out of memory"),
        (None, None, "has no model to serve: this job ended before gradyard kept trained models"),
    ],
)
def test_a_model_being_exported_or_unavailable_says_so(
    client: TestClient, state: str | None, detail: str | None, answer: str
) -> None:
    job_id = client.post("/jobs", json=trained.DIGITS_SPEC).json()["id"]
    trained.end_job(job_id, model_status="exporting")
    with session_scope() as session:
        if state is None:  # a job that ended before models were kept
            session.get_one(Job, job_id).model_status = None
        else:
            repository.set_model_state(session, job_id=job_id, status=state, detail=detail)  # type: ignore[arg-type]
    model = client.get(f"/jobs/{job_id}").json()["model"]
    assert (model["status"], model["files"]) == (state or "unavailable", [])
    for method, path, body in routes(job_id):
        refused = client.request(method, path, **body)  # type: ignore[arg-type]
        assert (refused.status_code, refused.json()["detail"]) == (409, f"job {job_id} {answer}"), path
        assert refused.headers.get("retry-after") == ("2" if state == "exporting" else None)


def test_another_users_job_is_not_found_on_every_model_route(app: FastAPI, client: TestClient) -> None:
    job_id = trained.trained_job(client, "digits")
    bob = client_with_key(app, key_for("bob"))
    missing = bob.get("/jobs/no-such-job/model").json()
    for method, path, body in [*routes(job_id), ("POST", f"/jobs/{job_id}/rerun", {})]:
        answer = bob.request(method, path, **body)  # type: ignore[arg-type]
        assert (answer.status_code, answer.json()["title"]) == (404, missing["title"]), path
        assert answer.json()["detail"] == f"no job has id '{job_id}'"
    admin = client_with_key(app, key_for("root", admin=True))
    assert admin.post(f"/jobs/{job_id}/predict", json={"inputs": [[0] * 64]}).status_code == 200
