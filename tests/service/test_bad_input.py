"""Bad input gets a 4xx problem+json that says what to fix, and stores and queues nothing."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.settings import get_settings
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
            "Input should be a valid integer",
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
            "unknown loss 'crossentropy': did you mean 'cross_entropy'? known losses: bce, bce_with_logits, "
            "cosine_embedding, cross_entropy, focal, gaussian_nll, hinge_embedding, huber, kl_div, l1, margin_ranking, "
            "mse, multi_margin, multilabel_margin, multilabel_soft_margin, nll, poisson_nll, rmse, smooth_l1, "
            "soft_margin, sse, triplet_margin",
        ),
        (
            DIGITS | {"model": {"hidden": [64]}},
            ["body", "model"],
            "model needs a 'name', one of: cifar_cnn, embedding_bag, lenet, linear, logistic, mlp, resnet18",
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
            "loss 'bce_with_logits' needs two classes or multi-label targets, but dataset 'digits' has 10 classes: "
            "use 'cross_entropy', 'nll', 'kl_div' or 'multi_margin', or a dataset such as 'breast_cancer', "
            "'synthetic_multilabel' or 'synthetic_classification'",
        ),
        (
            {"loss": {"name": "mse"}},
            "loss 'mse' needs a real-valued target or count targets, but dataset 'digits' has 10 classes: use "
            "'cross_entropy', 'nll', 'kl_div' or 'multi_margin', or a dataset such as 'thermometer', 'diabetes' or "
            "'synthetic_regression'",
        ),
        (
            {"model": {"name": "cifar_cnn"}},
            "model 'cifar_cnn' needs 3x32x32 images, but dataset 'digits' gives 1x8x8: use 'synthetic_images' or "
            "'cifar10', or model 'resnet18' or 'mlp'",
        ),
        (
            {"optimizer": {"name": "sparse_adam"}},
            "optimizer 'sparse_adam' takes only sparse gradients, but model 'mlp' gives dense ones: use 'adam', or "
            "model 'embedding_bag' with sparse true on a token dataset ('synthetic_tokens')",
        ),
        (
            {"channels_last": True},
            "channels_last needs a convolutional model on image inputs (cifar_cnn, lenet, resnet18), but model 'mlp' "
            "is not convolutional: set channels_last to false, or use one of those models",
        ),
    ],
)
def test_parts_that_do_not_fit_are_refused_with_the_reason(
    client: TestClient, stored: Stored, overrides: dict[str, Any], msg: str
) -> None:
    body = problem_of(client.post("/jobs", json=DIGITS | overrides), 422)
    assert body["errors"][0]["msg"] == msg and body["detail"] == msg
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


def test_a_torchvision_dataset_not_in_the_data_dir_is_a_422(
    client: TestClient, stored: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADYARD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    fashion = DIGITS | {"dataset": {"name": "fashion_mnist"}, "model": "lenet"}
    body = problem_of(client.post("/jobs", json=fashion), 422)
    assert body["type"] == "urn:gradyard:problem:spec-incompatible"
    assert body["errors"] == [
        {
            "loc": ["body", "dataset"],
            "msg": f"dataset 'fashion_mnist' is not in GRADYARD_DATA_DIR={tmp_path}: put the torchvision files there "
            f"(expected {tmp_path}/FashionMNIST/raw/train-images-idx3-ubyte and the rest of torchvision's layout) "
            "or set GRADYARD_DOWNLOAD_DATASETS=on",
            "type": "dataset_missing",
        }
    ]
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)
    monkeypatch.setenv("GRADYARD_DOWNLOAD_DATASETS", "on")  # a deployment with internet may fetch it at run time
    get_settings.cache_clear()
    assert (
        client.post("/jobs", json=DIGITS | {"dataset": {"name": "fashion_mnist"}, "model": "lenet"}).status_code == 201
    )


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
