"""A property-based fuzz of the API from its own OpenAPI document (schemathesis), with a fixed seed and a bounded
number of cases: no 5xx, every error is problem+json, every response matches the schema it documents (the live stream's
events included); on made-up job ids and on real jobs seeded in every state (queued to cancelled)."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core import repository
from core.db import session_scope
from core.metrics import Point
from core.settings import get_settings
from service.app import create_app
from tests.e2e.test_training_jobs import DIGITS
from tests.service.conftest import key_for

# An open stream ends with its job; a job still queued or running streams until this cut (the fuzzer keeps the events
# that came before it and checks those).
STREAM_SECONDS = 0.5
SPEC = DIGITS | {"epochs": 3}
NAMES = ("train_loss", "val_loss", "val_accuracy", "lr")
# Fewer cases where each costs more: a picture is drawn, a stream of an unfinished job runs until its cut.
EXAMPLES_ON_REAL_JOBS = {"plot.{fmt}": 4, "events": 15}


def fuzz_settings(examples: int) -> settings:
    """A fixed seed (CI sees the same cases every run) and no example database."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


@pytest.fixture
def fuzzed_app(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    # Room for every generated request: the quota and rate limit have their own tests.
    monkeypatch.setenv("GRADYARD_RATE_LIMIT_PER_MINUTE", "100000")
    monkeypatch.setenv("GRADYARD_AUTH_FAILURES_PER_MINUTE", "100000")  # the keyless cases: their limit has its test
    monkeypatch.setenv("GRADYARD_MAX_ACTIVE_JOBS_PER_USER", "100000")
    monkeypatch.setenv("GRADYARD_STREAM_POLL_SECONDS", "0.05")
    get_settings.cache_clear()
    application = create_app()
    with TestClient(application):
        yield application


@pytest.fixture
def auth_header(fuzzed_app: FastAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_for('fuzzer')}"}


def call_kwargs(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, Any]:
    """The key, and a read deadline that cuts a stream whose job has not ended."""
    return {"headers": headers, "timeout": STREAM_SECONDS if case.path.endswith("/events") else 30}


def validate(case: schemathesis.Case, response: Any) -> None:
    """Every default check, response schema conformance included; every error is problem+json."""
    # A schema cannot say which loss fits which dataset: those schema-valid specs get a 422 that says why, on purpose.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"]
        assert response.json()["status"] == response.status_code


def _check(case: schemathesis.Case, headers: dict[str, str]) -> None:
    validate(case, case.call(**call_kwargs(case, headers)))


def test_api_answers_every_generated_request_as_documented(fuzzed_app: FastAPI, auth_header: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        fuzz = fuzz_settings(25)(given(case=operation.as_strategy())(lambda case: _check(case, auth_header)))
        fuzz()


def _record(job_id: str, steps: range, *, attempt: int = 1) -> None:
    """Points of these steps as a worker records them (a non-finite loss among them: the API sends it as null)."""
    points = [Point(name, s, s, 1.0 / s, 0.1 * s) for s in steps for name in NAMES if name != "train_loss"]
    points += [Point("train_loss", s, s, float("nan") if s == 2 else 2.0 / s, 0.1 * s) for s in steps]
    with session_scope() as session:
        repository.record_progress(
            session, job_id=job_id, attempt=attempt, points=points, epoch=steps[-1], step=steps[-1]
        )


def seed_jobs(app: FastAPI, headers: dict[str, str]) -> dict[str, str]:
    """Jobs of the fuzzer's user in every state, submitted through the API and moved on as a worker moves them."""
    client = TestClient(app, headers=dict(headers))
    jobs = {}
    for state in ("queued", "running", "succeeded", "failed", "cancelled"):
        response = client.post("/jobs", json=SPEC | {"name": f"fuzzed-{state}"})
        assert response.status_code == 201, response.text
        jobs[state] = response.json()["id"]
    for state in ("running", "succeeded", "failed"):
        with session_scope() as session:
            assert repository.claim_job(session, job_id=jobs[state]) == 1
        _record(jobs[state], range(1, 4))
    with session_scope() as session:
        repository.finish_job(session, job_id=jobs["succeeded"], attempt=1, status="succeeded")
        repository.finish_job(session, job_id=jobs["failed"], attempt=1, status="failed", reason="error", error="x")
    assert client.post(f"/jobs/{jobs['cancelled']}/cancel").status_code == 202
    return jobs


def _on_real_jobs(operation: Any, job_ids: list[str]) -> st.SearchStrategy[schemathesis.Case]:
    """The operation's generated cases, with the job ids in its path or query replaced by real ones."""

    def with_jobs(drawn: tuple[schemathesis.Case, str, list[str], str]) -> schemathesis.Case:
        case, job_id, several, metric = drawn
        if case.path_parameters is not None and "job_id" in case.path_parameters:
            case.path_parameters["job_id"] = job_id
        if case.query is not None and "jobs" in case.query:
            case.query["jobs"] = ",".join(several)
            case.query["metric"] = metric  # a name the jobs recorded (any other is a 422 the first test fuzzes)
        return case

    several = st.lists(st.sampled_from(job_ids), min_size=1, max_size=3, unique=True)
    drawn = st.tuples(operation.as_strategy(), st.sampled_from(job_ids), several, st.sampled_from(NAMES))
    return drawn.map(with_jobs)


def test_every_route_answers_real_jobs_in_every_state_as_documented(
    fuzzed_app: FastAPI, auth_header: dict[str, str]
) -> None:
    jobs = seed_jobs(fuzzed_app, auth_header)
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    answered: Counter[tuple[str, int]] = Counter()

    def check(case: schemathesis.Case) -> None:
        response = case.call(**call_kwargs(case, auth_header))
        answered[case.operation.label, response.status_code] += 1
        validate(case, response)

    operations = [result.ok() for result in schema.get_all_operations()]
    # Cancel last, so the other routes see queued and running jobs too; plots last but one: drawing costs the most.
    for operation in sorted(operations, key=lambda op: (op.path.endswith("/cancel"), "plot" in op.path)):
        examples = EXAMPLES_ON_REAL_JOBS.get(operation.path.rsplit("/", 1)[-1], 15)
        fuzz_settings(examples)(given(case=_on_real_jobs(operation, list(jobs.values())))(check))()

    # Today's routes answered their documented successes to these jobs, not only 404s.
    for label in (
        "GET /jobs/{job_id}",
        "GET /jobs/{job_id}/metrics",
        "GET /jobs/{job_id}/events",
        "GET /jobs/{job_id}/plot.{fmt}",
        "GET /compare/plot.{fmt}",
    ):
        assert answered[label, 200] > 0, (label, sorted(answered.items()))
    assert answered["POST /jobs/{job_id}/cancel", 202] > 0, answered
