"""POST /jobs/{id}/predict with real ONNX models in ONNX Runtime: the answers match torch's on the same rows, the
three bodies (JSON, .npy, Arrow) agree, and the caps and bad inputs answer problem+json that says what the model
expects."""

import io
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import repository
from core.db import session_scope
from core.settings import get_settings
from service import auth, predict
from service.predict import ARROW_STREAM, NPY, Sessions
from tests.service import trained
from tests.service.conftest import client_with_key

PROBLEM = "application/problem+json"


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def arrow(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def images(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 17, (n, 1, 8, 8)).astype(np.float32)


def test_digits_answers_are_torchs_in_every_body(client: TestClient) -> None:
    job_id = trained.trained_job(client, "digits")
    x = images(50)
    classes, probabilities = trained.expected("digits", x)
    answer = client.post(f"/jobs/{job_id}/predict", json={"inputs": x.tolist()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["classes"] == [str(d) for d in range(10)]
    assert body["predictions"] == [str(c) for c in classes]
    np.testing.assert_allclose(body["probabilities"], probabilities, rtol=1e-5, atol=1e-7)
    flat = client.post(f"/jobs/{job_id}/predict", json={"inputs": x.reshape(50, 64).tolist()})
    binary = client.post(f"/jobs/{job_id}/predict", content=npy(x), headers={"Content-Type": NPY})
    column = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 64)
    table = client.post(
        f"/jobs/{job_id}/predict", content=arrow(pa.table({"input": column})), headers={"Content-Type": ARROW_STREAM}
    )
    assert flat.content == binary.content == table.content == answer.content


def test_table_rows_and_records_are_encoded_as_at_training(client: TestClient) -> None:
    job_id = trained.trained_job(client, "churn")
    rows = [[12, "plus", True], [None, "basic", False], [70, "pro", True]]
    encoded = np.array([[12, 0, 1, 0, 1], [36, 1, 0, 0, 0], [70, 0, 0, 1, 1]], dtype=np.float32)  # tenure filled: 36
    classes, probabilities = trained.expected("churn", encoded)
    answer = client.post(f"/jobs/{job_id}/predict", json={"inputs": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [["no", "yes"][c] for c in classes]
    np.testing.assert_allclose(answer.json()["probabilities"], probabilities, rtol=1e-5, atol=1e-7)
    names = ["tenure", "plan", "paperless"]
    records = [{k: v for k, v in zip(names, row, strict=True) if v is not None} for row in rows]
    assert client.post(f"/jobs/{job_id}/predict", json={"records": records}).content == answer.content
    table = pa.table({"plan": ["plus", "basic", "pro"], "tenure": [12, None, 70], "paperless": [True, False, True]})
    streamed = client.post(f"/jobs/{job_id}/predict", content=arrow(table), headers={"Content-Type": ARROW_STREAM})
    assert streamed.content == answer.content


def test_regression_values_come_back_in_the_targets_units(client: TestClient) -> None:
    job_id = trained.trained_job(client, "price", best=True)
    x = np.array([[3, 120.5, 10], [5, 300, 1]], dtype=np.float32)
    (values,) = trained.expected("price", x)
    for which in ("final", "best"):
        answer = client.post(f"/jobs/{job_id}/predict", params={"which": which}, json={"inputs": x.tolist()}).json()
        assert (answer["probabilities"], answer["classes"]) == (None, None)
        np.testing.assert_allclose(answer["predictions"], values[:, 0], rtol=1e-6)
        assert min(answer["predictions"]) > 1000  # units: the graph undid the target's scaling


def test_a_bad_row_is_a_422_that_says_what_the_model_expects(client: TestClient) -> None:
    job_id = trained.trained_job(client, "churn")
    answer = client.post(
        f"/jobs/{job_id}/predict", json={"records": [{"tenure": 3, "plan": "gold", "paperless": True}]}
    )
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM)
    detail = "'plan' has categories this model never saw: 'gold'; it knows 'basic', 'plus', 'pro'"
    assert answer.json() == {
        "type": "urn:gradyard:problem:prediction-input",
        "title": "Input does not fit the model",
        "status": 422,
        "detail": detail,
        "errors": [{"loc": ["body"], "msg": detail, "type": "prediction_input"}],
    }
    width = client.post(f"/jobs/{job_id}/predict", json={"inputs": [[1, 2]]}).json()["detail"]
    assert width == (
        "row 0 has 2 values, not 3: this model takes rows of 3 values in this order: 'tenure', 'plan', 'paperless' "
        "(or records keyed by those names)"
    )
    malformed = client.post(
        f"/jobs/{job_id}/predict", content=b'{"inputs": [', headers={"Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.json()["title"]) == (400, "Malformed JSON")
    csv = client.post(f"/jobs/{job_id}/predict", content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert (csv.status_code, csv.json()["detail"]) == (
        415,
        f"a prediction body is application/json, {NPY} or {ARROW_STREAM}, not 'text/csv'",
    )


def test_rows_and_bytes_are_capped(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = trained.trained_job(client, "digits")
    x = images(10_000)  # 2.5 MB as .npy: over the API's 1 MiB body limit, under the prediction limit of 16 MiB
    assert (
        len(client.post(f"/jobs/{job_id}/predict", content=npy(x), headers={"Content-Type": NPY}).json()["predictions"])
        == 10_000
    )
    monkeypatch.setenv("GRADYARD_MAX_PREDICT_ROWS", "3")
    monkeypatch.setenv("GRADYARD_MAX_PREDICT_BYTES", "100000")
    get_settings.cache_clear()
    rows = client.post(f"/jobs/{job_id}/predict", json={"inputs": x[:4].tolist()})
    assert (rows.status_code, rows.json()["detail"]) == (
        422,
        "the request holds 4 rows, more than the 3 this server takes at once: send them in smaller requests",
    )
    size = client.post(f"/jobs/{job_id}/predict", content=npy(x[:500]), headers={"Content-Type": NPY})
    assert (size.status_code, size.json()["detail"]) == (413, "the request body is larger than 100,000 bytes")
    assert client.post(f"/jobs/{job_id}/predict", content=npy(x[:3]), headers={"Content-Type": NPY}).status_code == 200


def test_loaded_models_stay_within_their_bytes(tmp_path: Path) -> None:
    paths = {}
    for kind in ("digits", "churn", "price"):
        paths[kind] = tmp_path / f"{kind}.onnx"
        paths[kind].write_bytes(trained.exported(kind).onnx)
    sizes = {kind: path.stat().st_size for kind, path in paths.items()}
    sessions = Sessions(capacity_bytes=sizes["digits"] + sizes["churn"])
    first = sessions.get(("s", "digits", "final"), paths["digits"])
    assert sessions.get(("s", "digits", "final"), paths["digits"]) is first  # loaded once
    sessions.get(("s", "churn", "final"), paths["churn"])
    sessions.get(("s", "price", "final"), paths["price"])  # the least recently used (digits) makes room
    assert sessions.loaded_bytes == sizes["churn"] + sizes["price"]
    assert sessions.get(("s", "digits", "final"), paths["digits"]) is not first


def test_a_revoked_key_stops_predicting_once_its_trust_runs_out(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "KEY_TRUST_SECONDS", 0.5)
    with session_scope() as session:
        issued = repository.issue_key(session, user_name="carol", is_admin=False)
    carol = client_with_key(app, issued.key)
    job_id = trained.trained_job(carol, "digits")
    row = {"inputs": [[0] * 64]}
    assert carol.post(f"/jobs/{job_id}/predict", json=row).status_code == 200
    with session_scope() as session:
        assert repository.revoke_key(session, key_id=issued.id)
    time.sleep(0.6)
    refused = carol.post(f"/jobs/{job_id}/predict", json=row)
    assert (refused.status_code, refused.json()["detail"]) == (401, "the key is unknown or revoked")
    assert client_with_key(app, None).post(f"/jobs/{job_id}/predict", json=row).status_code == 401
    assert client_with_key(app, "gy_not-a-key").post(f"/jobs/{job_id}/predict", json=row).status_code == 401


def test_a_request_runs_on_the_event_loop_once_its_model_has_shown_it_is_quick(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = trained.trained_job(client, "digits")
    card = trained.card("digits", job_id)
    small, large = npy(images(2)), npy(images(1000))
    assert not predict.quick(card, which="final", body=small, media_type=NPY)  # its model is not loaded yet
    assert client.post(f"/jobs/{job_id}/predict", content=small, headers={"Content-Type": NPY}).status_code == 200
    assert predict.quick(card, which="final", body=small, media_type=NPY)
    assert not predict.quick(card, which="final", body=large, media_type=NPY)  # never timed: a thread
    assert client.post(f"/jobs/{job_id}/predict", content=large, headers={"Content-Type": NPY}).status_code == 200
    monkeypatch.setattr(predict, "QUICK_SECONDS", 10.0)
    assert predict.quick(card, which="final", body=large, media_type=NPY)
    assert not predict.quick(card, which="final", body=large, media_type=ARROW_STREAM)  # timed per kind of body
    monkeypatch.setattr(predict, "QUICK_SECONDS", 1e-9)
    assert not predict.quick(card, which="final", body=large, media_type=NPY)
