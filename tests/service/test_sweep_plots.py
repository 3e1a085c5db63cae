"""A sweep's pictures over HTTP against a real database: history, parallel coordinates and importance, each as PNG
and SVG; the importance ranks first the key that decides the objective; a bad kind is a 422. (Trials are ended
through the repository the way a worker ends them, as in test_sweeps_api.)"""

import math
import re
from typing import Any

from fastapi.testclient import TestClient

from core.db import session_scope
from core.repository import sweeps as sweeps_sql
from core.sweeps.controller import past_trials
from core.sweeps.importance import param_importances
from core.sweeps.space import SweepSpec
from tests.service.test_sweeps_api import body, controller_pass, end_trial

KINDS = ("history", "parallel", "importance")


def texts(svg: bytes) -> list[str]:
    """The texts of an SVG in drawing order (matplotlib writes each drawn text as a comment before its glyphs)."""
    return re.findall(r"<!-- (.*?) -->", svg.decode())


def board(client: TestClient, sweep_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/sweeps/{sweep_id}/trials").json()["items"]
    return items


def test_every_kind_draws_png_and_svg(client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body(max_trials=4, max_concurrent=4)).json()
    rows = board(client, sweep["id"])
    assert len(rows) == 4
    for row, accuracy in zip(rows[:3], (0.7, 0.9, 0.8), strict=True):
        end_trial(row["job_id"], accuracy)
    end_trial(rows[3]["job_id"], 0.2, reason="pruned")
    for kind in KINDS:
        png = client.get(f"/sweeps/{sweep['id']}/plot.png", params={"kind": kind})
        assert (png.status_code, png.headers["content-type"]) == (200, "image/png"), (kind, png.text[:200])
        assert png.content.startswith(b"\x89PNG")
        svg = client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": kind, "width": 900, "height": 400})
        assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml"), kind
        assert svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content
    drawn = texts(client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": "parallel"}).content)
    # an axis per sampled key and one for the objective; the choice's values are its tick labels
    for name in ("optimizer.lr", "optimizer.momentum", "model.hidden", "val_accuracy (grey: pruned)"):
        assert name in drawn
    assert "[16]" in drawn and "[64,32]" in drawn
    assert "0.001" in drawn and "0.5" in drawn  # the log axis runs over the space's bounds, not the values drawn
    parallel = client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": "parallel"}).text
    assert parallel.count("stroke: #d3d3d3") == 1  # the pruned trial, grey
    importance = texts(client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": "importance"}).content)
    assert "importance for val_accuracy (PED-ANOVA on 3 complete trials)" in importance


def test_importance_needs_two_complete_trials(client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body(max_trials=2, max_concurrent=2)).json()
    first, second = board(client, sweep["id"])
    end_trial(first["job_id"], 0.7)
    end_trial(second["job_id"], 0.4, reason="pruned")  # pruned: not a complete trial
    svg = client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": "importance"})
    assert svg.status_code == 200
    assert "importance needs at least two complete trials (1 so far)" in texts(svg.content)


def lr_decides(params: dict[str, Any]) -> float:
    """An accuracy that only the learning rate moves: best at 0.03, worse by a fifth per decade away."""
    return 0.9 - 0.2 * abs(math.log10(params["optimizer.lr"]) - math.log10(0.03))


def test_the_key_that_decides_the_objective_is_the_most_important(client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body(max_trials=20, max_concurrent=4)).json()
    while queued := [row for row in board(client, sweep["id"]) if row["status"] == "queued"]:
        for row in queued:
            end_trial(row["job_id"], lr_decides(row["params"]))
        controller_pass(sweep["id"])
    assert client.get(f"/sweeps/{sweep['id']}").json()["trials"] == {"succeeded": 20, "total": 20}
    with session_scope() as session:
        stored = sweeps_sql.get_sweep(session, sweep_id=sweep["id"])
        spec = SweepSpec.model_validate(stored.spec)
        ranked = param_importances(
            spec, past_trials(list(sweeps_sql.sweep_trials(session, sweep_id=sweep["id"])), spec)
        )
    assert ranked is not None and ranked[0][0] == "optimizer.lr"
    assert ranked[0][1] > 0.6 and math.isclose(sum(share for _, share in ranked), 1.0)
    drawn = texts(client.get(f"/sweeps/{sweep['id']}/plot.svg", params={"kind": "importance"}).content)
    keys = [text for text in drawn if text in body()["space"]]
    assert keys == [key for key, _ in reversed(ranked)]  # bars drawn bottom up: the most important on top
    assert f" {ranked[0][1]:.0%}" in drawn


def test_an_unknown_kind_is_a_422_naming_it(client: TestClient) -> None:
    sweep = client.post("/sweeps", json=body()).json()
    response = client.get(f"/sweeps/{sweep['id']}/plot.png", params={"kind": "pie"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["loc"] for error in response.json()["errors"]] == [["query", "kind"]]
