"""Submitting, reading, listing and cancelling jobs over HTTP, against a real database and a real broker."""

import json
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Stored

THERMOMETER = {
    "name": "thermometer-linear-sgd",
    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
    "model": {"name": "linear"},
    "loss": {"name": "mse"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "epochs": 5000,
    "batch_size": None,
}


def submit(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/jobs", json=body, headers=headers)


def test_submit_stores_the_resolved_spec_and_queues_one_message(client: TestClient, stored: Stored) -> None:
    response = submit(client, THERMOMETER)
    assert response.status_code == 201
    job = response.json()
    assert response.headers["location"] == f"/jobs/{job['id']}"
    assert job["status"] == "queued" and job["attempt"] == 0 and job["name"] == "thermometer-linear-sgd"
    assert job["spec"]["optimizer"] == {
        "name": "sgd",
        "lr": 0.01,
        "momentum": 0.0,
        "dampening": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    assert job["progress"] == {"epoch": 0, "epochs": 5000, "step": 0}
    assert (stored.jobs(), stored.queued_messages()) == (1, 1)
    message = json.loads(stored.redis.lindex(os.environ["GRADYARD_QUEUE"], 0))
    assert message["headers"]["task"] == "gradyard.train_job"
    assert message["content-type"] == "application/json"
    read = client.get(f"/jobs/{job['id']}").json()
    assert [(e["status"], e["attempt"], e["detail"]) for e in read.pop("events")] == [("queued", 0, "submitted")]
    assert job.pop("events") is None
    assert read == job


def test_a_name_is_made_when_none_is_given(client: TestClient) -> None:
    body = {k: v for k, v in THERMOMETER.items() if k != "name"}
    assert submit(client, body).json()["name"] == "thermometer-linear-sgd"


def test_idempotency_key_returns_the_first_job_and_refuses_a_different_body(client: TestClient, stored: Stored) -> None:
    first = submit(client, THERMOMETER, **{"Idempotency-Key": "abc"})
    again = submit(client, THERMOMETER, **{"Idempotency-Key": "abc"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = submit(client, THERMOMETER | {"epochs": 10}, **{"Idempotency-Key": "abc"})
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert (stored.jobs(), stored.queued_messages()) == (1, 1)


def test_list_pages_newest_first_and_filters_by_status(client: TestClient) -> None:
    ids = [submit(client, THERMOMETER | {"name": f"job-{i}"}).json()["id"] for i in range(3)]
    page = client.get("/jobs", params={"limit": 2}).json()
    assert [job["id"] for job in page["items"]] == [ids[2], ids[1]]
    rest = client.get("/jobs", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [job["id"] for job in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    client.post(f"/jobs/{ids[1]}/cancel")
    cancelled = client.get("/jobs", params={"status": "cancelled"}).json()
    assert [job["id"] for job in cancelled["items"]] == [ids[1]]


def test_cancel_of_a_queued_job_ends_it_and_is_idempotent(client: TestClient) -> None:
    job_id = submit(client, THERMOMETER).json()["id"]
    first = client.post(f"/jobs/{job_id}/cancel")
    second = client.post(f"/jobs/{job_id}/cancel")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["status"] == second.json()["status"] == "cancelled"
    assert first.json()["finished_at"] is not None
    assert first.json()["reason"] == "cancelled"
    events = client.get(f"/jobs/{job_id}").json()["events"]
    assert [(e["status"], e["reason"]) for e in events] == [("queued", None), ("cancelled", "cancelled")]


def test_metrics_of_a_queued_job_are_empty(client: TestClient) -> None:
    job_id = submit(client, THERMOMETER).json()["id"]
    assert client.get(f"/jobs/{job_id}/metrics").json() == {"job_id": job_id, "status": "queued", "metrics": {}}


def test_catalog_and_docs(client: TestClient) -> None:
    catalog = client.get("/catalog").json()
    assert set(catalog) == {"datasets", "models", "losses", "optimizers", "schedulers"}
    mlp = next(entry for entry in catalog["models"] if entry["name"] == "mlp")
    assert mlp["parameters"]["hidden"]["default"] == [128]
    assert client.get("/docs").status_code == 200
    assert "/jobs/{job_id}/metrics" in client.get("/openapi.json").json()["paths"]


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": {"database": "ok", "broker": "ok"}})


@pytest.fixture
def broker_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The same API with its broker pointed at a port where nothing listens."""
    from service.deps import get_celery

    monkeypatch.setenv("GRADYARD_BROKER_URL", "redis://127.0.0.1:9/0")
    from core.settings import get_settings

    get_settings.cache_clear()
    get_celery.cache_clear()
    return client


def test_submit_while_the_broker_is_down_is_a_503_that_stores_nothing(broker_down: TestClient, stored: Stored) -> None:
    response = submit(broker_down, THERMOMETER)
    assert response.status_code == 503
    assert response.json()["title"] == "Queue unavailable"
    assert stored.jobs() == 0
    ready = broker_down.get("/readyz")
    assert (ready.status_code, ready.headers["content-type"]) == (503, "application/problem+json")
    assert ready.json() == {
        "type": "urn:gradyard:problem:not-ready",
        "title": "Not ready",
        "status": 503,
        "detail": "cannot reach the broker",
        "checks": {"database": "ok", "broker": "unreachable"},
    }


def test_readiness_names_a_database_it_cannot_reach(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import clear_cached_settings

    monkeypatch.setenv("GRADYARD_DATABASE_URL", "postgresql+psycopg://gradyard@127.0.0.1:9/gone?connect_timeout=2")
    clear_cached_settings()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert (ready.json()["detail"], ready.json()["checks"]) == (
        "cannot reach the database",
        {"database": "unreachable", "broker": "ok"},
    )
