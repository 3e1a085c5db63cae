"""Keys, isolation and mass assignment: nobody reads or runs on another's jobs."""

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import repository
from core.db import session_scope
from core.settings import Settings
from service.app import PUBLIC_PATHS, create_app
from service.auth import check_auth_setting
from tests.service.conftest import client_with_key, key_for
from tests.service.test_jobs_api import THERMOMETER


def _operations(app: FastAPI) -> list[tuple[str, str, bool]]:
    """Every operation the API publishes: (method, path, whether it declares the Bearer key)."""
    return [
        (method.upper(), path, bool(operation.get("security")))
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]


def _concrete(path: str) -> str:
    return path.replace("{job_id}", "00000000-0000-0000-0000-000000000000")


def test_every_route_was_decided_public_or_keyed(app: FastAPI) -> None:
    # Walks the route table as the API publishes it: a new route fails here until it is keyed or made public on
    # purpose (listed in PUBLIC_PATHS).
    operations = _operations(app)
    assert len(operations) >= 8
    assert {path for _, path, keyed in operations if not keyed} == {"/healthz", "/readyz"}
    assert {path for _, path, keyed in operations if not keyed} <= PUBLIC_PATHS


def test_every_keyed_route_refuses_anonymous_and_bad_keys(app: FastAPI) -> None:
    anonymous, wrong = client_with_key(app, None), client_with_key(app, "gy_not-a-key")
    for method, path, keyed in _operations(app):
        if not keyed:
            continue
        for client, detail in ((anonymous, "this route needs"), (wrong, "the key is unknown or revoked")):
            response = client.request(method, _concrete(path))
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["detail"].startswith(detail)


def test_public_routes_need_no_key(app: FastAPI) -> None:
    anonymous = client_with_key(app, None)
    for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
        assert anonymous.get(path).status_code == 200, path


def test_another_user_s_job_is_a_missing_job(app: FastAPI) -> None:
    alice, bob = client_with_key(app, key_for("alice")), client_with_key(app, key_for("bob"))
    job_id = alice.post("/jobs", json=THERMOMETER).json()["id"]
    missing = "11111111-1111-1111-1111-111111111111"
    for method, path in [("GET", "/jobs/{}"), ("GET", "/jobs/{}/metrics"), ("POST", "/jobs/{}/cancel")]:
        theirs, nobody = bob.request(method, path.format(job_id)), bob.request(method, path.format(missing))
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.json()["detail"] == f"no job has id '{job_id}'"
    assert bob.get("/jobs").json()["items"] == []
    assert alice.get(f"/jobs/{job_id}").json()["status"] == "queued"  # bob's cancel did nothing
    admin = client_with_key(app, key_for("root", admin=True))
    assert [job["id"] for job in admin.get("/jobs").json()["items"]] == [job_id]
    assert admin.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"


def test_idempotency_keys_are_per_user(app: FastAPI) -> None:
    alice, bob = client_with_key(app, key_for("alice")), client_with_key(app, key_for("bob"))
    first = alice.post("/jobs", json=THERMOMETER, headers={"Idempotency-Key": "k1"})
    second = bob.post("/jobs", json=THERMOMETER, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_a_revoked_key_stops_working(app: FastAPI) -> None:
    with session_scope() as session:
        issued = repository.issue_key(session, user_name="carol", is_admin=False)
    carol = client_with_key(app, issued.key)
    assert carol.get("/jobs").status_code == 200
    with session_scope() as session:
        assert repository.revoke_key(session, key_id=issued.id)
    assert carol.get("/jobs").status_code == 401


@pytest.mark.parametrize("field", ["owner", "owner_id", "status", "attempt", "id", "restarts", "created_at"])
def test_the_body_cannot_set_server_fields(client: TestClient, field: str) -> None:
    response = client.post("/jobs", json=THERMOMETER | {field: "x"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", field], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]


def test_responses_carry_no_internal_fields(client: TestClient) -> None:
    job = client.post("/jobs", json=THERMOMETER, headers={"Idempotency-Key": "secret"}).json()
    text = str(client.get(f"/jobs/{job['id']}").json()) + str(client.get("/jobs").json())
    for internal in ("idempotency_key", "request_hash", "owner_id", "key_hash", "secret", "heartbeat_at"):
        assert internal not in text


def test_the_state_log_says_who_submitted_and_who_cancelled(app: FastAPI) -> None:
    alice, admin = client_with_key(app, key_for("alice")), client_with_key(app, key_for("root", admin=True))
    job_id = alice.post("/jobs", json=THERMOMETER).json()["id"]
    admin.post(f"/jobs/{job_id}/cancel")
    events = alice.get(f"/jobs/{job_id}").json()["events"]
    assert [(e["status"], e["actor"]) for e in events] == [("queued", "alice"), ("cancelled", "root")]


@pytest.mark.parametrize(
    "name",
    [
        "__import__('os').system('id')",
        "os.system",
        "torch.nn.Module",
        "../../etc/passwd",
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_injection_in_names_is_refused_and_in_labels_inert(client: TestClient, name: str) -> None:
    for kind in ("dataset", "model", "loss", "optimizer"):
        response = client.post("/jobs", json=THERMOMETER | {kind: {"name": name}})
        assert response.status_code == 422
        assert response.json()["errors"][0]["msg"].startswith(f"unknown {kind} '{name}'")
    stored = client.post("/jobs", json=THERMOMETER | {"name": name}).json()
    assert client.get(f"/jobs/{stored['id']}").json()["name"] == name


def test_the_first_start_prints_an_admin_key_once(configured: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="service.app")
    with TestClient(create_app()):
        pass
    [record] = [r for r in caplog.records if "first start" in r.getMessage()]
    key = record.getMessage().split("keep it: ")[1].split()[0]
    assert TestClient(create_app(), headers={"Authorization": f"Bearer {key}"}).get("/jobs").status_code == 200
    caplog.clear()
    with TestClient(create_app()):
        pass
    assert not [r for r in caplog.records if "first start" in r.getMessage()]


def test_auth_off_is_refused_off_loopback(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RuntimeError, match=r"GRADYARD_AUTH=off is refused while the API listens on 0\.0\.0\.0"):
        check_auth_setting(Settings(auth="off", host="0.0.0.0"))
    caplog.set_level(logging.WARNING)
    check_auth_setting(Settings(auth="off", host="127.0.0.1"))
    assert "auth is OFF" in caplog.text


def test_auth_off_on_loopback_serves_without_keys(configured: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("GRADYARD_AUTH", "off")
    get_settings.cache_clear()
    with TestClient(create_app()) as anonymous:
        job: dict[str, Any] = anonymous.post("/jobs", json=THERMOMETER).json()
        assert anonymous.get(f"/jobs/{job['id']}").json()["events"][0]["actor"] == "local"
