"""Plot images: the right type and size, the curves' names in them, and clear refusals of bad input."""

import struct
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import repository
from core.db import session_scope
from core.metrics import Point
from tests.service.conftest import client_with_key, key_for


def png_size(content: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def owner_of(client: TestClient) -> str | None:
    """The user id behind the key a test client sends."""
    with session_scope() as session:
        key = client.headers["authorization"].removeprefix("Bearer ")
        principal = repository.principal_for_key(session, key=key)
        assert principal is not None
        return principal.user_id


def make_job(client: TestClient, name: str, *, classification: bool = True, epochs: int = 5) -> str:
    """A job of the client's user that has run `epochs` epochs: its points written the way a worker writes them."""
    spec = {"name": name, "epochs": 10, "dataset": {"name": "digits"}, "optimizer": {"name": "sgd"}}
    with session_scope() as session:
        job = repository.create_job(
            session, name=name, spec=spec, idempotency_key=None, request_hash=None, owner_id=owner_of(client)
        )
        job_id = job.id
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id)
        assert attempt == 1
        names = ["train_loss", "val_loss", "lr"] + (["train_accuracy", "val_accuracy"] if classification else [])
        points = [
            Point(n, e, e, 1.0 / e if "loss" in n else 0.1 * e, 0.1 * e) for e in range(1, epochs + 1) for n in names
        ]
        repository.record_progress(session, job_id=job_id, attempt=1, points=points, epoch=epochs, step=epochs)
    return job_id


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_a_job_plot_is_a_png_of_the_asked_size(client: TestClient) -> None:
    job_id = make_job(client, "digits-adam")
    response = client.get(f"/jobs/{job_id}/plot.png", params={"width": 640, "height": 480})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png" and response.headers["cache-control"] == "no-store"
    assert png_size(response.content) == (640, 480)


def test_the_default_height_grows_with_the_panels(client: TestClient) -> None:
    job_id = make_job(client, "digits")
    three = png_size(client.get(f"/jobs/{job_id}/plot.png").content)  # loss, accuracy, learning rate
    one = png_size(client.get(f"/jobs/{job_id}/plot.png", params={"names": "train_loss,val_loss"}).content)
    assert three == (800, 760) and one == (800, 320)


def test_a_job_plot_as_svg_names_its_curves(client: TestClient) -> None:
    job_id = make_job(client, "thermo-like", classification=False)
    response = client.get(f"/jobs/{job_id}/plot.svg", params={"log": "true", "width": 500})
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert root.tag.endswith("svg") and root.attrib["width"].startswith("360")  # 500 px at 100 dpi = 360 pt
    text = response.text
    assert all(
        f"<!-- {label} -->" in text for label in ("train_loss", "val_loss", "lr", "thermo-like (running, epoch 5/10)")
    )
    assert "accuracy" not in text  # a regression job draws no accuracy panel


def test_a_job_without_points_still_draws(client: TestClient) -> None:
    with session_scope() as session:
        job = repository.create_job(
            session,
            name="fresh",
            spec={"epochs": 3},
            idempotency_key=None,
            request_hash=None,
            owner_id=owner_of(client),
        )
        job_id = job.id
    response = client.get(f"/jobs/{job_id}/plot.svg")
    assert response.status_code == 200 and "<!-- no points yet -->" in response.text


def test_a_comparison_draws_one_line_per_job(client: TestClient) -> None:
    sgd, adam = make_job(client, "digits-sgd"), make_job(client, "digits-adam")
    response = client.get("/compare/plot.svg", params={"jobs": f"{sgd},{adam}", "metric": "val_loss"})
    assert response.status_code == 200
    assert f"<!-- digits-sgd ({sgd[:8]}) -->" in response.text and f"<!-- digits-adam ({adam[:8]}) -->" in response.text
    png = client.get("/compare/plot.png", params={"jobs": f"{sgd},{adam}", "metric": "val_loss", "height": 300})
    assert png.headers["content-type"] == "image/png" and png_size(png.content) == (800, 300)


def test_plots_need_a_key_and_show_only_the_caller_s_jobs(client: TestClient, app: FastAPI) -> None:
    mine = make_job(client, "alice-job")
    anonymous = client_with_key(app, None).get(f"/jobs/{mine}/plot.png")
    assert problem_of(anonymous, 401)["detail"].startswith("this route needs 'Authorization: Bearer <key>'")
    bob = client_with_key(app, key_for("bob"))
    assert problem_of(bob.get(f"/jobs/{mine}/plot.svg"), 404)["detail"] == f"no job has id '{mine}'"
    theirs = make_job(bob, "bob-job")
    compare = client.get("/compare/plot.png", params={"jobs": f"{mine},{theirs}", "metric": "val_loss"})
    assert problem_of(compare, 404)["detail"] == f"no job has id '{theirs}'"
    admin = client_with_key(app, key_for("root", admin=True))
    assert admin.get("/compare/plot.png", params={"jobs": f"{mine},{theirs}", "metric": "lr"}).status_code == 200


def test_plots_of_unknown_jobs_are_404(client: TestClient) -> None:
    known = make_job(client, "known")
    assert problem_of(client.get("/jobs/nope/plot.png"), 404)["detail"] == "no job has id 'nope'"
    compare = client.get("/compare/plot.png", params={"jobs": f"{known},nope", "metric": "val_loss"})
    assert problem_of(compare, 404)["detail"] == "no job has id 'nope'"


@pytest.mark.parametrize(
    ("path", "params", "loc", "message"),
    [
        (
            "/jobs/{id}/plot.png",
            {"names": "val_los"},
            ["query", "names"],
            "unknown metric 'val_los'; known: train_loss,",
        ),
        ("/compare/plot.png", {"jobs": "{id}", "metric": "acc"}, ["query", "metric"], "unknown metric 'acc'; known:"),
        ("/compare/plot.png", {"jobs": ",", "metric": "lr"}, ["query", "jobs"], "give one or more comma-separated"),
        (
            "/compare/plot.png",
            {"jobs": ",".join(f"j{i}" for i in range(13)), "metric": "lr"},
            ["query", "jobs"],
            "at most 12 jobs on one chart, not 13",
        ),
        ("/compare/plot.png", {"jobs": "{id}"}, ["query", "metric"], "Field required"),
        ("/jobs/{id}/plot.gif", {}, ["path", "fmt"], "Input should be 'png' or 'svg'"),
        ("/jobs/{id}/plot.png", {"width": 50}, ["query", "width"], "Input should be greater than or equal to 200"),
        ("/jobs/{id}/plot.png", {"height": 99999}, ["query", "height"], "Input should be less than or equal to 4000"),
    ],
)
def test_bad_plot_requests_say_what_to_fix(
    client: TestClient, path: str, params: dict[str, Any], loc: list[str], message: str
) -> None:
    job_id = make_job(client, "j")
    resolved = {k: v.replace("{id}", job_id) if isinstance(v, str) else v for k, v in params.items()}
    body = problem_of(client.get(path.replace("{id}", job_id), params=resolved), 422)
    assert body["errors"][0]["loc"] == loc and body["errors"][0]["msg"].startswith(message)
