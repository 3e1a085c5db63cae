"""GET /jobs/{id}/metrics: columnar JSON with nulls for non-finite values, CSV, incremental and downsampled reads,
an ETag and 304 for ended jobs, and clear refusals of bad queries."""

import csv
import io
import math

import pytest
from fastapi.testclient import TestClient

from core import repository
from core.db import session_scope
from core.metrics import Point
from tests.service.test_plots import owner_of, problem_of

STEPS = 2_500  # two packed chunks and a tail of rows


def job_with_history(client: TestClient, *, finish: bool) -> str:
    """A job of the client's user with a long train_loss (a NaN at step 1,000) and a short val_loss."""
    spec = {"name": "h", "epochs": 10, "dataset": {"name": "digits"}}
    with session_scope() as session:
        job_id = repository.create_job(
            session, name="h", spec=spec, idempotency_key=None, request_hash=None, owner_id=owner_of(client)
        ).id
    with session_scope() as session:
        assert repository.claim_job(session, job_id=job_id) == 1
        points = [Point("train_loss", s, 1 + s // 250, 1.0 / s, 0.01 * s) for s in range(1, STEPS + 1)]
        points[999] = Point("train_loss", 1000, 5, math.nan, 10.0)
        points += [Point("val_loss", s, s // 250, 2.0 / s, 0.01 * s) for s in range(250, STEPS + 1, 250)]
        repository.record_progress(session, job_id=job_id, attempt=1, points=points, epoch=10, step=STEPS)
        if finish:
            repository.finish_job(session, job_id=job_id, attempt=1, status="succeeded")
    return job_id


def test_the_history_is_columnar_with_nulls_for_non_finite_values(client: TestClient) -> None:
    job_id = job_with_history(client, finish=False)
    body = client.get(f"/jobs/{job_id}/metrics").json()
    assert (body["job_id"], body["status"], sorted(body["metrics"])) == (job_id, "running", ["train_loss", "val_loss"])
    train = body["metrics"]["train_loss"]
    assert train["step"] == list(range(1, STEPS + 1)) and train["value"][999] is None
    assert train["value"][1] == 0.5 and train["epoch"][1] == 1 and train["time"][1] == 0.02
    assert body["metrics"]["val_loss"]["step"] == list(range(250, STEPS + 1, 250))
    newer = client.get(f"/jobs/{job_id}/metrics", params={"after_step": 2_400, "names": "val_loss"}).json()
    assert newer["metrics"] == {"val_loss": {"step": [2500], "epoch": [10], "value": [0.0008], "time": [25.0]}}


def test_a_downsampled_read_keeps_first_last_extremes_and_nulls(client: TestClient) -> None:
    job_id = job_with_history(client, finish=False)
    train = client.get(f"/jobs/{job_id}/metrics", params={"max_points": 50}).json()["metrics"]["train_loss"]
    assert len(train["step"]) <= 50
    assert train["step"][0] == 1 and train["step"][-1] == STEPS and 1000 in train["step"]
    assert train["value"][0] == 1.0 and min(v for v in train["value"] if v is not None) == 1.0 / STEPS


@pytest.mark.parametrize("max_points", [2, 3, 4])
def test_max_points_is_honoured_to_the_point(client: TestClient, max_points: int) -> None:
    job_id = job_with_history(client, finish=False)
    metrics = client.get(f"/jobs/{job_id}/metrics", params={"max_points": max_points}).json()["metrics"]
    assert all(len(series["step"]) <= max_points for series in metrics.values())
    train = metrics["train_loss"]["step"]
    assert train[0] == 1 and train[-1] == STEPS and len(train) == max_points


def test_an_ended_job_s_history_has_an_etag_and_costs_a_304_when_unchanged(client: TestClient) -> None:
    running = job_with_history(client, finish=False)
    assert "etag" not in client.get(f"/jobs/{running}/metrics").headers
    job_id = job_with_history(client, finish=True)
    first = client.get(f"/jobs/{job_id}/metrics")
    etag = first.headers["etag"]
    again = client.get(f"/jobs/{job_id}/metrics", headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other = client.get(f"/jobs/{job_id}/metrics", params={"max_points": 10}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag  # another representation, another tag


@pytest.mark.parametrize("ask", [{"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}])
def test_the_history_downloads_as_csv(client: TestClient, ask: dict[str, dict[str, str]]) -> None:
    job_id = job_with_history(client, finish=True)
    response = client.get(f"/jobs/{job_id}/metrics", **ask)  # type: ignore[arg-type]
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{job_id}-metrics.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == STEPS + 10
    assert rows[1] == {"name": "train_loss", "step": "2", "epoch": "1", "value": "0.5", "time": "0.02"}
    assert rows[999]["value"] == "" and rows[-1]["name"] == "val_loss"
    json_points = client.get(f"/jobs/{job_id}/metrics").json()["metrics"]["train_loss"]["value"]
    assert [float(r["value"]) if r["value"] else None for r in rows[:STEPS]] == json_points


@pytest.mark.parametrize(
    ("params", "where", "says"),
    [
        ({"max_points": 1}, "max_points", "greater than or equal to 2"),
        ({"max_points": 100_001}, "max_points", "less than or equal to 100000"),
        ({"after_step": -1}, "after_step", "greater than or equal to 0"),
        ({"names": "train_loss,val_los"}, "names", "unknown metric 'val_los'"),
        ({"format": "xml"}, "format", "'json', 'arrow' or 'csv'"),
    ],
)
def test_bad_metric_queries_are_422_with_the_reason(
    client: TestClient, params: dict[str, object], where: str, says: str
) -> None:
    job_id = job_with_history(client, finish=False)
    problem = problem_of(client.get(f"/jobs/{job_id}/metrics", params=params), 422)
    [error] = problem["errors"]
    assert error["loc"] == ["query", where] and says in error["msg"]
