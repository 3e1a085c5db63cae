"""Bad input gets a 4xx problem+json that says what to fix, and stores and queues nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Stored
from tests.service.test_jobs_api import THERMOMETER

DIGITS = {
    "dataset": {"name": "digits", "val_fraction": 0.2},
    "model": {"name": "mlp", "hidden": [128]},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "adam", "lr": 0.001},
    "epochs": 20,
}


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    return body


def test_malformed_json(client: TestClient, stored: Stored) -> None:
    response = client.post("/jobs", content=b'{"dataset": ', headers={"content-type": "application/json"})
    assert problem_of(response, 400)["title"] == "Malformed JSON"
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_number_literals(client: TestClient, stored: Stored, literal: bytes) -> None:
    body = b'{"dataset": "digits", "model": "mlp", "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": %s}}'
    body = body % literal
    errors = problem_of(client.post("/jobs", content=body, headers={"content-type": "application/json"}), 422)["errors"]
    assert errors == [
        {"loc": ["body", "optimizer", "lr"], "msg": "Input should be a finite number", "type": "finite_number"}
    ]
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        ("not an object", ["body"], "Input should be a valid dictionary or object to extract fields from"),
        (
            DIGITS | {"epochs": "many"},
            ["body", "epochs"],
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (DIGITS | {"epochs": 0}, ["body", "epochs"], "Input should be greater than or equal to 1"),
        (DIGITS | {"batch_size": -5}, ["body", "batch_size"], "Input should be greater than or equal to 1"),
        (DIGITS | {"learning_rate": 0.1}, ["body", "learning_rate"], "Extra inputs are not permitted"),
        (
            DIGITS | {"optimizer": {"name": "sgd", "lr": -1}},
            ["body", "optimizer", "lr"],
            "Input should be greater than 0",
        ),
        (
            DIGITS | {"optimizer": {"name": "sgd", "momentum": 1.5}},
            ["body", "optimizer", "momentum"],
            "Input should be less than 1",
        ),
        (
            DIGITS | {"loss": {"name": "cross_entropy", "smoothing": 0.1}},
            ["body", "loss", "smoothing"],
            "Extra inputs are not permitted",
        ),
        (
            DIGITS | {"loss": {"name": "crossentropy"}},
            ["body", "loss"],
            "unknown loss 'crossentropy': did you mean 'cross_entropy'? "
            "known losses: bce_with_logits, cross_entropy, l1, mse",
        ),
        (
            DIGITS | {"model": {"hidden": [64]}},
            ["body", "model"],
            "model needs a 'name', one of: cifar_cnn, linear, mlp",
        ),
        ({k: v for k, v in DIGITS.items() if k != "loss"}, ["body", "loss"], "Field required"),
        (
            DIGITS | {"dataset": {"name": "digits", "normalize": "minmax"}},
            ["body", "dataset", "normalize"],
            "Input should be 'none' or 'standard'",
        ),
    ],
)
def test_invalid_specs_name_the_field(client: TestClient, stored: Stored, body: Any, loc: list[Any], msg: str) -> None:
    errors = problem_of(client.post("/jobs", json=body), 422)["errors"]
    assert {"loc": loc, "msg": msg} in [{"loc": e["loc"], "msg": e["msg"]} for e in errors]
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "msg"),
    [
        (
            {"loss": {"name": "bce_with_logits"}},
            "loss 'bce_with_logits' needs one output per sample, but model 'mlp' on dataset 'digits' gives 10: "
            "use 'cross_entropy' or a binary dataset",
        ),
        (
            {"loss": {"name": "mse"}},
            "loss 'mse' needs a real-valued target, but dataset 'digits' has 10 classes: use 'cross_entropy', "
            "or a regression dataset",
        ),
        (
            {"model": {"name": "cifar_cnn"}},
            "model 'cifar_cnn' needs 3x32x32 images, but dataset 'digits' gives 1x8x8: use 'synthetic_images', "
            "or model 'mlp' or 'linear'",
        ),
    ],
)
def test_parts_that_do_not_fit_are_refused_with_the_reason(
    client: TestClient, stored: Stored, overrides: dict[str, Any], msg: str
) -> None:
    body = problem_of(client.post("/jobs", json=DIGITS | overrides), 422)
    assert body["errors"][0]["msg"] == msg and body["detail"] == msg
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


def test_unknown_job_id_is_a_404_on_every_job_route(client: TestClient) -> None:
    for method, path in [("GET", "/jobs/nope"), ("GET", "/jobs/nope/metrics"), ("POST", "/jobs/nope/cancel")]:
        body = problem_of(client.request(method, path), 404)
        assert body["detail"] == "no job has id 'nope'"


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"names": "train_loss,accuracy"}, ["query", "names"]),
        ({"names": ","}, ["query", "names"]),
        ({"after_step": -1}, ["query", "after_step"]),
        ({"max_points": 1}, ["query", "max_points"]),
        ({"max_points": "lots"}, ["query", "max_points"]),
    ],
)
def test_bad_metric_queries(client: TestClient, params: dict[str, Any], loc: list[str]) -> None:
    job_id = client.post("/jobs", json=THERMOMETER).json()["id"]
    errors = problem_of(client.get(f"/jobs/{job_id}/metrics", params=params), 422)["errors"]
    assert [e["loc"] for e in errors] == [loc]


def test_unknown_metric_names_are_listed(client: TestClient) -> None:
    job_id = client.post("/jobs", json=THERMOMETER).json()["id"]
    body = problem_of(client.get(f"/jobs/{job_id}/metrics", params={"names": "train_loss,accuracy"}), 422)
    assert body["errors"][0]["msg"].startswith("unknown metric 'accuracy'; known: train_loss, val_loss, lr")


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"cursor": "garbage!"}, ["query", "cursor"]),
        ({"status": "done"}, ["query", "status"]),
        ({"limit": 0}, ["query", "limit"]),
    ],
)
def test_bad_list_queries(client: TestClient, params: dict[str, Any], loc: list[str]) -> None:
    errors = problem_of(client.get("/jobs", params=params), 422)["errors"]
    assert [e["loc"] for e in errors] == [loc]


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    problem_of(client.get("/nothing-here"), 404)
    problem_of(client.delete("/jobs"), 405)
