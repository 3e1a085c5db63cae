"""Sweeps over HTTP against a real database and broker: trials are queued jobs, the controller follows their ends,
stop cancels, another user's sweep is a 404, bad input is a 422 that stores nothing. (Trials are ended here the way
a worker ends them, through the repository; the e2e suite trains them for real.)"""

import time
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from core import repository
from core.db import session_scope
from core.repository import sweeps as sweeps_sql
from core.settings import get_settings
from core.sweeps.controller import run_all, run_pass
from core.tables import Job, Sweep
from core.timeutil import utcnow
from service.deps import get_celery
from tests.service.conftest import Stored, client_with_key, key_for

BASE = {"dataset": "iris", "model": "mlp", "loss": "cross_entropy", "optimizer": "sgd", "epochs": 2}
SPACE = {
    "optimizer.lr": {"type": "log_uniform", "low": 1e-3, "high": 0.5},
    "optimizer.momentum": {"type": "uniform", "low": 0.0, "high": 0.9},
    "model.hidden": {"type": "choice", "values": [[16], [64, 32]]},
}


def body(**over: Any) -> dict[str, Any]:
    return {
        "name": "lr-search",
        "base": BASE,
        "space": SPACE,
        "objective": {"metric": "val_accuracy", "mode": "max"},
        "max_trials": 3,
        "max_concurrent": 2,
        "seed": 11,
    } | over


def end_trial(job_id: str, accuracy: float, status: str = "succeeded", reason: str | None = None) -> None:
    """End a queued trial as a worker would, with this last val_accuracy (and a reason such as pruned)."""
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id)
        assert attempt is not None
        summary = {"val_accuracy": {"count": 2, "last": accuracy, "min": accuracy / 2, "max": accuracy}}
        session.execute(update(Job).where(Job.id == job_id).values(summary=summary, epoch=2))
        repository.finish_job(
            session,
            job_id=job_id,
            attempt=attempt,
            status=status,  # type: ignore[arg-type]
            reason=reason,  # type: ignore[arg-type]
        )


def controller_pass(sweep_id: str) -> int | None:
    return run_pass(sweep_id, celery=get_celery(), settings=get_settings())


def test_a_sweep_queues_trials_as_jobs_and_ends_with_the_best(client: TestClient, stored: Stored) -> None:
    response = client.post("/sweeps", json=body())
    assert response.status_code == 201, response.text
    sweep = response.json()
    assert response.headers["location"] == f"/sweeps/{sweep['id']}"
    assert sweep["state"] == "running" and sweep["trials"] == {"queued": 2, "total": 2} and sweep["best"] is None
    assert (stored.jobs(), stored.queued_messages()) == (2, 2)  # max_concurrent trials, each sent
    board = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    assert [row["trial"] for row in board] == [0, 1]
    first = client.get(f"/jobs/{board[0]['job_id']}").json()
    assert (first["sweep_id"], first["trial"], first["name"]) == (sweep["id"], 0, "lr-search #0")
    params = first["params"]
    assert 1e-3 <= params["optimizer.lr"] <= 0.5 and 0 <= params["optimizer.momentum"] <= 0.9
    assert first["spec"]["optimizer"]["lr"] == params["optimizer.lr"]
    assert first["spec"]["model"]["hidden"] == params["model.hidden"]

    end_trial(board[0]["job_id"], 0.7)
    assert controller_pass(sweep["id"]) == 1  # its place goes to trial 2, the last of max_trials
    end_trial(board[1]["job_id"], 0.9)
    assert controller_pass(sweep["id"]) == 0
    third = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"][-1]
    assert (third["trial"], third["status"]) == (2, "queued")
    end_trial(third["job_id"], 0.8)
    controller_pass(sweep["id"])

    done = client.get(f"/sweeps/{sweep['id']}").json()
    assert done["state"] == "succeeded" and done["finished_at"] is not None
    assert done["trials"] == {"succeeded": 3, "total": 3}
    assert done["best"]["job_id"] == board[1]["job_id"] and done["best"]["value"] == 0.9
    ranked = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    assert [(row["trial"], row["value"]) for row in ranked] == [(1, 0.9), (2, 0.8), (0, 0.7)]
    assert controller_pass(sweep["id"]) is None  # an ended sweep takes no lease and starts nothing


def test_the_same_seed_asks_the_same_first_trials(client: TestClient) -> None:
    a, b = (client.post("/sweeps", json=body(max_concurrent=1)).json()["id"] for _ in range(2))
    first = [client.get(f"/sweeps/{s}/trials").json()["items"][0]["params"] for s in (a, b)]
    assert first[0] == first[1]


def test_trials_count_against_the_quota_and_the_sweep_waits(client: TestClient, stored: Stored) -> None:
    limit = get_settings().max_active_jobs_per_user
    response = client.post("/sweeps", json=body(max_trials=limit + 2, max_concurrent=limit + 2))
    sweep = response.json()
    assert response.status_code == 201 and sweep["trials"]["total"] == limit and sweep["state"] == "running"
    assert client.post("/jobs", json=BASE).status_code == 429  # the owner's quota is the trials'
    first = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"][0]
    end_trial(first["job_id"], 0.5)
    assert controller_pass(sweep["id"]) == 1  # room again: the sweep carries on
    assert stored.jobs() == limit + 1


def test_stop_cancels_queued_trials_and_starts_no_more(client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body()).json()
    response = client.post(f"/sweeps/{sweep['id']}/stop")
    assert response.status_code == 202
    stopped = response.json()
    assert stopped["state"] == "stopped" and stopped["trials"] == {"cancelled": 2, "total": 2}
    assert controller_pass(sweep["id"]) is None
    assert client.post(f"/sweeps/{sweep['id']}/stop").json()["state"] == "stopped"  # idempotent


def test_another_users_sweep_is_not_found(app: FastAPI, client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body()).json()
    bob = client_with_key(app, key_for("bob"))
    for method, path in [("get", ""), ("get", "/trials"), ("post", "/stop")]:
        response = getattr(bob, method)(f"/sweeps/{sweep['id']}{path}")
        assert response.status_code == 404, path
        assert response.json()["detail"] == f"no sweep has id '{sweep['id']}'"
    assert bob.get("/sweeps").json() == {"items": []}
    assert [s["id"] for s in client.get("/sweeps").json()["items"]] == [sweep["id"]]


def test_bad_input_is_refused_naming_the_key_and_stores_nothing(client: TestClient, stored: Stored) -> None:
    space = SPACE | {"optimizer.colour": {"type": "choice", "values": [1, 2]}}
    response = client.post("/sweeps", json=body(space=space))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "space", "optimizer.colour"],
            "msg": "'optimizer.colour' is not a path in the job spec",
            "type": "sweep_unknown_path",
        }
    ]
    response = client.post("/sweeps", json=body(space={"optimizer.lr": {"type": "log_uniform", "low": 0, "high": 1}}))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "space", "optimizer.lr", "log_uniform", "low"]
    assert client.post("/sweeps", json=body(max_concurrent=0)).status_code == 422
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Sweep)) == 0
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


def test_a_sampled_point_that_cannot_train_is_a_failed_trial_not_a_500(client: TestClient, stored: Stored) -> None:
    # The corners (iris + cross_entropy, breast_cancer + bce) train; iris + bce, inside the grid, does not.
    space = {
        "dataset.name": {"type": "choice", "values": ["iris", "breast_cancer"]},
        "loss.name": {"type": "choice", "values": ["cross_entropy", "bce"]},
    }
    response = client.post("/sweeps", json=body(space=space, sampler="grid", max_trials=4, max_concurrent=4))
    assert response.status_code == 201, response.text
    assert response.json()["trials"] == {"queued": 3, "failed": 1, "total": 4}
    assert stored.queued_messages() == 3
    board = client.get(f"/sweeps/{response.json()['id']}/trials").json()["items"]
    failed = next(row for row in board if row["status"] == "failed")
    assert failed["trial"] == 1 and failed["params"] == {"dataset.name": "iris", "loss.name": "bce"}
    job = client.get(f"/jobs/{failed['job_id']}").json()
    assert job["error"].startswith("the sampled values make no valid job spec: loss 'bce' needs two classes")


def test_a_controller_that_died_holding_the_lease_is_carried_on_by_the_next(client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body(max_concurrent=1)).json()
    with session_scope() as session:  # a controller takes the lease, then its process dies
        assert sweeps_sql.take_lease(
            session, sweep_id=sweep["id"], holder="dead", until=utcnow() + timedelta(seconds=1)
        )
    first = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"][0]["job_id"]
    end_trial(first, 0.6)
    assert controller_pass(sweep["id"]) is None  # its lease still holds: no second controller acts
    time.sleep(1.1)
    run_all(celery=get_celery(), settings=get_settings())  # the reconciler's catch-all, once the lease lapsed
    board = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    assert [(row["trial"], row["status"]) for row in board] == [(0, "succeeded"), (1, "queued")]


def test_the_history_plot_draws_png_and_svg_and_hides_another_users_sweep(app: FastAPI, client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body()).json()
    board = client.get(f"/sweeps/{sweep['id']}/trials").json()["items"]
    end_trial(board[0]["job_id"], 0.7)
    png = client.get(f"/sweeps/{sweep['id']}/plot.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": "history", "width": 400, "height": 300})
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert client.get(f"/sweeps/{sweep['id']}/plot.png", params={"kind": "pie"}).status_code == 422
    assert client_with_key(app, key_for("bob")).get(f"/sweeps/{sweep['id']}/plot.png").status_code == 404
