"""The queue over HTTP on a real database and a real broker: GET /queue's order and reasons, GET /pools,
GET /workers, PATCH /jobs/{id}, and admission by pool and priority. The pools' workers are simulated rows."""

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import repository
from core.db import session_scope
from tests.pools import simulate_workers
from tests.service.conftest import client_with_key, key_for

SPEC = {"dataset": "thermometer", "model": "linear", "loss": "mse", "optimizer": "sgd", "epochs": 5}


def post(client: TestClient, **fields: Any) -> str:
    response = client.post("/jobs", json={**SPEC, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_the_queue_lists_jobs_in_run_order_with_why_they_wait(client: TestClient, app: FastAPI) -> None:
    simulate_workers(1, pool="gpu", device="NVIDIA H100")
    admin = client_with_key(app, key_for("root", admin=True))
    first, low, normal = post(client, pool="gpu"), post(client, pool="gpu", priority="low"), post(client, pool="gpu")
    high = post(admin, pool="gpu", priority="high")
    lost = post(client, pool="a100")
    items = client.get("/queue", params={"pool": "gpu"}).json()["items"]
    assert [(i["id"], i["position"], i["sent"], i["reason"]) for i in items] == [
        (first, 1, True, "sent to pool 'gpu': waiting for a worker there to start it"),
        (high, 2, False, "pool gpu busy: 1 of 1 slots"),
        (normal, 3, False, "behind jobs of higher priority"),
        (low, 4, False, "behind jobs of higher priority"),
    ]
    assert [(i["name"], i["owner"]) for i in items[:2]] == [("thermometer-linear-sgd", "alice"), (None, None)]
    [waiting] = client.get("/queue", params={"pool": "a100"}).json()["items"]
    assert (waiting["id"], waiting["reason"]) == (lost, "no worker in pool 'a100' has been seen")
    pools = {p["name"]: p for p in client.get("/pools").json()["items"]}
    assert pools["gpu"] == {"name": "gpu", "slots": 1, "busy": 1, "running": 0, "queued": 4, "workers_registered": 1}
    assert pools["a100"]["workers_registered"] == 0 and pools["a100"]["queued"] == 1


def test_a_bad_pool_name_is_a_422(client: TestClient) -> None:
    response = client.post("/jobs", json={**SPEC, "pool": "GPU.big"})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "pool"]
    assert client.get("/queue", params={"pool": "../x"}).status_code == 422


def test_cuda_in_a_pool_of_cpu_workers_is_refused_and_high_is_for_admins(client: TestClient) -> None:
    post(client, pool="cpu", device="cuda")  # no worker has joined 'cpu' yet: nothing is known against it
    simulate_workers(1, pool="cpu")
    response = client.post("/jobs", json={**SPEC, "pool": "cpu", "device": "cuda"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "device"],
            "msg": "device 'cuda' cannot run in pool 'cpu': its 1 registered worker(s) have no GPU; use device 'auto' "
            "or 'cpu', or a pool with GPU workers",
            "type": "pool_has_no_gpu",
        }
    ]
    refused = client.post("/jobs", json={**SPEC, "priority": "high"})
    assert (refused.status_code, refused.json()["errors"][0]["type"]) == (422, "priority_forbidden")


def test_patch_changes_a_queued_jobs_priority_and_409s_once_it_started(client: TestClient) -> None:
    job_id = post(client, pool="nowhere")
    changed = client.patch(f"/jobs/{job_id}", json={"priority": "low"})
    assert changed.status_code == 200
    assert changed.json()["spec"]["priority"] == "low"
    assert changed.json()["events"][-1]["detail"] == "priority set to low"
    assert client.get("/queue", params={"pool": "nowhere"}).json()["items"][0]["priority"] == "low"
    assert client.patch(f"/jobs/{job_id}", json={"priority": "high"}).status_code == 422  # alice is no admin
    assert client.patch(f"/jobs/{job_id}", json={"priority": "urgent"}).status_code == 422
    with session_scope() as session:
        repository.claim_job(session, job_id=job_id)
    started = client.patch(f"/jobs/{job_id}", json={"priority": "normal"})
    assert started.status_code == 409
    assert started.headers["content-type"] == "application/problem+json"
    assert started.json()["detail"] == f"job '{job_id}' is running: only a queued job's priority can change"


def test_workers_are_listed_for_admins_only(client: TestClient, app: FastAPI) -> None:
    simulate_workers(1, pool="gpu", device="NVIDIA H100")
    denied = client.get("/workers")
    assert (denied.status_code, denied.json()["title"]) == (403, "Forbidden")
    admin = client_with_key(app, key_for("root", admin=True))
    workers = {w["id"]: w for w in admin.get("/workers").json()["items"]}
    assert workers["simulated-gpu-0"]["device"] == "NVIDIA H100" and workers["simulated-gpu-0"]["live"] is True
    assert len(workers) == 65  # and the default pool's 64 simulated slots
