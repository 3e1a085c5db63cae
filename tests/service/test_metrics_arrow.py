"""GET /jobs/{id}/metrics as an Arrow IPC stream: the JSON answer's columns bit for bit, nulls where JSON has null, the
same names, after_step, max_points and ETag rules; and the Python client's frames built from it."""

import math
import struct
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from client import Client
from client.table import to_frame
from core import repository
from core.db import session_scope
from core.metrics import Point
from tests.service.test_metrics_api import STEPS, job_with_history
from tests.service.test_plots import owner_of

ARROW = "application/vnd.apache.arrow.stream"


def arrow_of(response: Any) -> pa.Table:
    """The answer's stream as one table, after checking its media type."""
    assert response.status_code == 200 and response.headers["content-type"] == ARROW
    return pa.ipc.open_stream(response.content).read_all()


def as_series(table: pa.Table) -> dict[str, dict[str, list[Any]]]:
    """The long table as the JSON answer's {name: {step, epoch, value, time}}."""
    names = table.column("name").to_pylist()
    out: dict[str, dict[str, list[Any]]] = {}
    for row, name in enumerate(names):
        series = out.setdefault(name, {"step": [], "epoch": [], "value": [], "time": []})
        for column in series:
            series[column].append(table.column(column)[row].as_py())
    return out


def bits(values: list[float | None]) -> list[bytes | None]:
    return [None if v is None else struct.pack("<d", v) for v in values]


def job_with_odd_values(client: TestClient) -> str:
    """A finished job whose loss has NaN, +inf and -inf, -0.0 and values that need all 17 digits."""
    with session_scope() as session:
        job_id = repository.create_job(
            session, name="odd", spec={}, idempotency_key=None, request_hash=None, owner_id=owner_of(client)
        ).id
    values = [0.1 + 0.2, math.nan, math.inf, -math.inf, -0.0, 1 / 3, 5e-324, 1.7976931348623157e308]
    with session_scope() as session:
        repository.claim_job(session, job_id=job_id)
        points = [Point("train_loss", s, 1, v, s / 7) for s, v in enumerate(values, start=1)]
        repository.record_progress(session, job_id=job_id, attempt=1, points=points, epoch=1, step=len(values))
        repository.finish_job(session, job_id=job_id, attempt=1, status="succeeded")
    return job_id


def test_the_arrow_answer_carries_the_json_values_bit_for_bit_and_nulls_for_non_finite(client: TestClient) -> None:
    job_id = job_with_odd_values(client)
    table = arrow_of(client.get(f"/jobs/{job_id}/metrics", headers={"Accept": ARROW}))
    assert table.schema.metadata == {b"job_id": job_id.encode(), b"status": b"succeeded"}
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("name", "dictionary<values=string, indices=int16, ordered=0>"),
        ("step", "int32"),
        ("epoch", "int32"),
        ("value", "double"),
        ("time", "double"),
    ]
    json_series = client.get(f"/jobs/{job_id}/metrics").json()["metrics"]["train_loss"]
    arrow_series = as_series(table)["train_loss"]
    assert arrow_series["value"][1:4] == [None, None, None] and table.column("value").null_count == 3
    assert bits(arrow_series["value"]) == bits(json_series["value"])
    assert bits(arrow_series["time"]) == bits(json_series["time"])
    assert (arrow_series["step"], arrow_series["epoch"]) == (json_series["step"], json_series["epoch"])


@pytest.mark.parametrize(
    "params",
    [{}, {"names": "val_loss"}, {"after_step": 2_400}, {"max_points": 50}, {"max_points": 3, "names": "train_loss"}],
)
def test_the_arrow_answer_holds_the_json_answer_s_points(client: TestClient, params: dict[str, Any]) -> None:
    job_id = job_with_history(client, finish=False)
    asked = client.get(f"/jobs/{job_id}/metrics", params=params | {"format": "arrow"})
    json_metrics = client.get(f"/jobs/{job_id}/metrics", params=params).json()["metrics"]
    assert as_series(arrow_of(asked)) == json_metrics
    assert "etag" not in asked.headers  # running: poll with after_step instead


def test_an_ended_job_s_arrow_answer_has_its_own_etag_and_a_304(client: TestClient) -> None:
    job_id = job_with_history(client, finish=True)
    first = client.get(f"/jobs/{job_id}/metrics", headers={"Accept": ARROW})
    etag = first.headers["etag"]
    assert arrow_of(first).num_rows == STEPS + 10
    again = client.get(f"/jobs/{job_id}/metrics", headers={"Accept": ARROW, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    by_parameter = client.get(f"/jobs/{job_id}/metrics", params={"format": "arrow"}, headers={"If-None-Match": etag})
    assert by_parameter.status_code == 304
    as_json = client.get(f"/jobs/{job_id}/metrics", headers={"If-None-Match": etag})
    assert as_json.status_code == 200 and as_json.headers["etag"] != etag  # another representation, another tag


def test_a_job_without_points_is_a_stream_without_batches(client: TestClient) -> None:
    with session_scope() as session:
        job_id = repository.create_job(
            session, name="empty", spec={}, idempotency_key=None, request_hash=None, owner_id=owner_of(client)
        ).id
    table = arrow_of(client.get(f"/jobs/{job_id}/metrics", params={"format": "arrow"}))
    assert (table.num_rows, table.schema.names) == (0, ["name", "step", "epoch", "value", "time"])


def python_client(client: TestClient) -> Client:
    """The Python client talking to the in-process app (its transport), with the test client's key."""
    key = client.headers["Authorization"].removeprefix("Bearer ")
    return Client("http://testserver", key, transport=client._transport)


@pytest.mark.parametrize("names", [None, ["val_loss", "train_loss"], ["train_loss"], ["val_loss"]])
def test_the_client_s_frame_from_arrow_is_the_frame_from_json(client: TestClient, names: list[str] | None) -> None:
    job_id = job_with_history(client, finish=True)
    with python_client(client) as api:
        frame = api.metrics(job_id, names=names, as_frame=True)
        from_json = to_frame(api.metrics(job_id, names=names))
    pd.testing.assert_frame_equal(frame, from_json, check_exact=True)
    assert frame.index.name == "step" and list(frame.columns)[:2] == ["epoch", "time"]
    if names is None:
        assert frame.shape == (STEPS, 4) and math.isnan(frame["train_loss"][1000])
        assert frame["val_loss"].count() == 10 and frame.loc[250, "epoch"] == 2  # train_loss's epoch at step 250


def test_the_client_s_frame_of_a_job_without_points_is_empty(client: TestClient) -> None:
    with session_scope() as session:
        job_id = repository.create_job(
            session, name="empty", spec={}, idempotency_key=None, request_hash=None, owner_id=owner_of(client)
        ).id
    with python_client(client) as api:
        frame = api.metrics(job_id, as_frame=True)
    assert (frame.index.name, list(frame.columns), len(frame)) == ("step", ["epoch", "time"], 0)


def test_the_client_builds_a_polars_frame_when_polars_is_installed(client: TestClient) -> None:
    polars = pytest.importorskip("polars")
    job_id = job_with_history(client, finish=True)
    with python_client(client) as api:
        frame = api.metrics(job_id, names=["train_loss"], as_frame="polars")
    assert isinstance(frame, polars.DataFrame) and frame.columns == ["step", "epoch", "time", "train_loss"]
    assert frame.height == STEPS and frame["train_loss"][999] is None
