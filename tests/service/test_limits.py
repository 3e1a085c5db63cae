"""Quotas and limits: each with its status code, and the quota exact under racing submits."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.settings import get_settings
from tests.service.conftest import Stored, client_with_key, key_for
from tests.service.test_jobs_api import THERMOMETER as LONG_THERMOMETER

THERMOMETER = LONG_THERMOMETER | {"epochs": 100}  # within the small limits below


@pytest.fixture
def limited(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """An app with small limits, so each can be reached in a test."""
    for name, value in {
        "MAX_ACTIVE_JOBS_PER_USER": "3",
        "MAX_EPOCHS": "1000",
        "MAX_BATCH_SIZE": "512",
        "MAX_SAMPLES": "5000",
        "MAX_MODEL_PARAMETERS": "100000",
        "MAX_POINTS_PER_JOB": "3000",
        "MAX_JOB_SECONDS": "3600",
        "MAX_BODY_BYTES": "4096",
        "MAX_JSON_DEPTH": "8",
        "RATE_LIMIT_PER_MINUTE": "1000",
    }.items():
        monkeypatch.setenv(f"GRADYARD_{name}", value)
    get_settings.cache_clear()
    from service.app import create_app

    application = create_app()
    with TestClient(application):
        yield application
    get_settings.cache_clear()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_the_active_job_quota_answers_429_with_retry_after(limited: FastAPI) -> None:
    alice = client_with_key(limited, key_for("alice"))
    ids = [alice.post("/jobs", json=THERMOMETER).json()["id"] for _ in range(3)]
    refused = alice.post("/jobs", json=THERMOMETER)
    body = problem(refused, 429)
    assert refused.headers["retry-after"] == "30"
    assert body["detail"].startswith("you have 3 queued or running jobs, the most this server allows")
    assert client_with_key(limited, key_for("bob")).post("/jobs", json=THERMOMETER).status_code == 201
    alice.post(f"/jobs/{ids[0]}/cancel")
    assert alice.post("/jobs", json=THERMOMETER).status_code == 201  # a slot came free


def test_an_idempotent_retry_at_the_quota_gets_its_job_not_429(limited: FastAPI) -> None:
    alice = client_with_key(limited, key_for("alice"))
    first = alice.post("/jobs", json=THERMOMETER, headers={"Idempotency-Key": "retry-me"})
    assert first.status_code == 201
    for _ in range(2):
        assert alice.post("/jobs", json=THERMOMETER).status_code == 201  # now at the quota of 3
    retried = alice.post("/jobs", json=THERMOMETER, headers={"Idempotency-Key": "retry-me"})
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == first.json()["id"] and retried.headers["location"] == first.headers["location"]
    assert alice.post("/jobs", json=THERMOMETER, headers={"Idempotency-Key": "new"}).status_code == 429
    changed = alice.post("/jobs", json=THERMOMETER | {"epochs": 99}, headers={"Idempotency-Key": "retry-me"})
    assert changed.status_code == 409  # the same key with another body is still a conflict, quota or not


def test_racing_submits_cannot_pass_the_quota(limited: FastAPI, stored: Stored) -> None:
    key = key_for("racer")

    def submit(_: int) -> int:
        return client_with_key(limited, key).post("/jobs", json=THERMOMETER).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(submit, range(12)))
    assert codes == [201] * 3 + [429] * 9
    assert stored.jobs() == 3


@pytest.mark.parametrize(
    ("overrides", "loc", "msg"),
    [
        ({"epochs": 2000}, ["body", "epochs"], "epochs is 2,000, above this server's limit of 1,000"),
        ({"batch_size": 1024}, ["body", "batch_size"], "batch_size is 1,024, above this server's limit of 512"),
        (
            {"dataset": {"name": "synthetic_regression", "n_samples": 10_000}},
            ["body", "dataset", "n_samples"],
            "the dataset's size is 10,000, above this server's limit of 5,000",
        ),
        (
            {"dataset": "digits", "model": {"name": "mlp", "hidden": [4096]}, "loss": "cross_entropy"},
            ["body", "model"],
            "the model's parameter count is 307,210, above this server's limit of 100,000",
        ),
        (
            {"epochs": 600, "dataset": "digits", "model": "mlp", "loss": "cross_entropy"},
            ["body", "epochs"],
            "the metric points it would record is 3,600, above this server's limit",  # 6 metrics a digits epoch
        ),
        (
            {"epochs": 150, "log_every_steps": 1, "batch_size": 1},
            ["body", "epochs"],
            "the metric points it would record is 3,600, above this server's limit",  # 2 a step, 11 steps an epoch
        ),
        (
            {"max_runtime_seconds": 7200},
            ["body", "max_runtime_seconds"],
            "max_runtime_seconds is 7,200, above this server's limit of 3,600",
        ),
    ],
)
def test_spec_limits_name_the_field(limited: FastAPI, overrides: dict[str, Any], loc: list[str], msg: str) -> None:
    response = client_with_key(limited, key_for("alice")).post("/jobs", json=THERMOMETER | overrides)
    errors = problem(response, 422)["errors"]
    assert any(e["loc"] == loc and e["msg"].startswith(msg) for e in errors), errors


def test_a_body_over_the_size_limit_is_413_before_parsing(limited: FastAPI, stored: Stored) -> None:
    alice = client_with_key(limited, key_for("alice"))
    big = THERMOMETER | {"name": "x" * 200, "padding": "y" * 5000}
    assert problem(alice.post("/jobs", json=big), 413)["title"] == "Request too large"

    def streamed() -> Iterator[bytes]:  # no Content-Length: the limit applies while it streams in
        yield b'{"name": "'
        for _ in range(100):
            yield b"z" * 100
        yield b'"}'

    response = alice.post("/jobs", content=streamed(), headers={"content-type": "application/json"})
    assert problem(response, 413)["detail"] == "the request body is larger than 4,096 bytes"
    assert stored.jobs() == 0


def test_json_nested_too_deep_is_refused(limited: FastAPI) -> None:
    alice = client_with_key(limited, key_for("alice"))
    deep = b'{"name": ' + b"[" * 20 + b"]" * 20 + b"}"
    response = alice.post("/jobs", content=deep, headers={"content-type": "application/json"})
    assert problem(response, 422)["detail"] == "the JSON body nests deeper than 8 levels"
    brackets_in_strings = THERMOMETER | {"name": "[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{"}
    assert alice.post("/jobs", json=brackets_in_strings).status_code == 201


def test_the_request_rate_per_key_answers_429(configured: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADYARD_RATE_LIMIT_PER_MINUTE", "5")
    get_settings.cache_clear()
    from service.app import create_app

    application = create_app()
    with TestClient(application):
        key = key_for("eager")
        codes = [client_with_key(application, key).get("/jobs").status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        limited = client_with_key(application, key).get("/jobs")
        assert problem(limited, 429)["title"] == "Too many requests"
        assert int(limited.headers["retry-after"]) >= 1
        assert client_with_key(application, key_for("patient")).get("/jobs").status_code == 200  # per key


BOMBS = [
    # 30.5 GiB of float64 draws, twice while split: the 1,000,000 x 4,096 regression; its multi-label and
    # token kin; resnet18 with a batch of 65,536 (all 50,000 images in one batch)
    (
        {"dataset": {"name": "synthetic_regression", "n_samples": 1_000_000, "n_features": 4096}, "loss": "mse"},
        ["body", "dataset"],
        "this job needs about 61.08 GiB of memory, 53.08 GiB above this server's limit of 8.00 GiB per job",
    ),
    (
        {
            "dataset": {"name": "synthetic_multilabel", "n_samples": 1_000_000, "n_features": 4096, "n_labels": 100},
            "loss": "bce_with_logits",
        },
        ["body", "dataset"],
        "this job needs about 63.30 GiB of memory",
    ),
    (
        {
            "dataset": {"name": "synthetic_tokens", "n_samples": 1_000_000, "seq_len": 1000},
            "model": "embedding_bag",
            "loss": "cross_entropy",
        },
        ["body", "dataset"],
        "this job needs about 30.84 GiB of memory",
    ),
    (
        {"dataset": "cifar10", "model": "resnet18", "loss": "cross_entropy", "batch_size": 65_536},
        ["body", "batch_size"],
        "this job needs about 808.73 GiB of memory",
    ),
]


@pytest.mark.parametrize(("overrides", "loc", "msg"), BOMBS)
def test_a_job_needing_more_memory_than_the_limit_is_refused_naming_the_largest_part(
    app: FastAPI, overrides: dict[str, Any], loc: list[str], msg: str
) -> None:
    spec = LONG_THERMOMETER | {"model": "mlp", "optimizer": "adam", "epochs": 1, "batch_size": 64} | overrides
    errors = problem(client_with_key(app, key_for("alice")).post("/jobs", json=spec), 422)["errors"]
    memory = [e for e in errors if "of memory" in e["msg"]]
    assert len(memory) == 1 and memory[0]["loc"] == loc and memory[0]["msg"].startswith(msg), errors
    assert "the largest part" in memory[0]["msg"]


def test_the_memory_limit_is_a_setting(configured: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = LONG_THERMOMETER | {"dataset": {"name": "synthetic_regression", "n_samples": 100_000, "n_features": 1000}}
    # 100,000 x 1,000 draws: 1.49 GiB at 16 bytes a value
    spec |= {"loss": "mse", "model": "linear", "epochs": 1, "batch_size": 64}
    monkeypatch.setenv("GRADYARD_MAX_JOB_MEMORY_GB", "1")
    get_settings.cache_clear()
    from service.app import create_app

    with TestClient(create_app()) as small:
        small.headers["Authorization"] = f"Bearer {key_for('alice')}"
        detail = problem(small.post("/jobs", json=spec), 422)["errors"]
        assert any(
            e["loc"] == ["body", "dataset"] and "above this server's limit of 1.00 GiB" in e["msg"] for e in detail
        )
    monkeypatch.setenv("GRADYARD_MAX_JOB_MEMORY_GB", "2")
    get_settings.cache_clear()
    with TestClient(create_app()) as roomy:
        roomy.headers["Authorization"] = f"Bearer {key_for('alice')}"
        assert roomy.post("/jobs", json=spec).status_code == 201
    get_settings.cache_clear()


def test_unknown_keys_are_rate_limited_per_address_before_the_lookup(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADYARD_AUTH_FAILURES_PER_MINUTE", "3")
    get_settings.cache_clear()
    from service.app import create_app

    application = create_app()
    with TestClient(application):
        key = key_for("owner")
        guesses = [client_with_key(application, f"gy_guess{i}").get("/jobs").status_code for i in range(5)]
        assert guesses == [401] * 3 + [429] * 2
        refused = client_with_key(application, key).get("/jobs")  # the address is refused, right key or not
        body = problem(refused, 429)
        assert body["detail"].startswith("too many requests with unknown keys from this address: retry after ")
        assert int(refused.headers["retry-after"]) >= 1
        other = TestClient(application, client=("203.0.113.9", 50000), headers={"Authorization": f"Bearer {key}"})
        assert other.get("/jobs").status_code == 200  # per address
        assert (
            client_with_key(application, None).get("/jobs").status_code == 401
        )  # no key: nothing guessed, not counted
