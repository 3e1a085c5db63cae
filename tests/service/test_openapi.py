"""The OpenAPI document, read as a client generator reads it: every body typed, every error problem+json, the stream's
events and the headers clients rely on described (the fuzz in test_fuzz.py checks real answers against it)."""

import json
import re
from typing import Any

import pytest

from service.app import create_app

JSON_TYPES = ("application/json", "application/problem+json")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation in the document."""
    return [(method, path, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_json_answer_has_a_schema_that_is_not_a_string(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            for media_type, content in response.get("content", {}).items():
                if media_type in JSON_TYPES:
                    assert content.get("schema", {}).get("type") != "string", (method, path, status, content)
                assert "schema" in content, (method, path, status, media_type)


def test_every_error_status_is_problem_json(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)


def test_the_metric_history_is_its_model_in_json_an_arrow_stream_and_text_in_csv(document: dict[str, Any]) -> None:
    ok = document["paths"]["/jobs/{job_id}/metrics"]["get"]["responses"]["200"]
    arrow = "application/vnd.apache.arrow.stream"
    assert list(ok["content"]) == ["application/json", arrow, "text/csv"]  # a generator types the first it reads
    assert ok["content"][arrow]["schema"] == {"type": "string", "contentMediaType": arrow}
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MetricsOut"}
    assert ok["content"]["text/csv"]["schema"] == {"type": "string"}
    assert ok["headers"]["ETag"]["required"] is False
    assert document["paths"]["/jobs/{job_id}/metrics"]["get"]["responses"]["304"]["headers"]["ETag"]["required"]


def test_the_stream_describes_each_event_and_its_data(document: dict[str, Any]) -> None:
    ok = document["paths"]["/jobs/{job_id}/events"]["get"]["responses"]["200"]
    events = ok["content"]["text/event-stream"]["schema"]["oneOf"]
    data = {event["properties"]["event"]["const"]: event["properties"]["data"] for event in events}
    assert {kind: schema["contentSchema"]["$ref"].rsplit("/", 1)[-1] for kind, schema in data.items()} == {
        "status": "JobEventOut",
        "metrics": "StreamMetrics",
        "rewind": "StreamRewind",
        "end": "StreamEnd",
    }
    assert all(schema["contentMediaType"] == "application/json" for schema in data.values())
    schemas = document["components"]["schemas"]
    assert schemas["StreamMetrics"]["properties"]["metrics"]["additionalProperties"] == {
        "$ref": "#/components/schemas/SeriesOut"
    }


def test_a_submitted_job_has_its_location_and_links_to_its_routes(document: dict[str, Any]) -> None:
    created = document["paths"]["/jobs"]["post"]["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    links = created["links"]
    assert {link["operationId"] for link in links.values()} == {
        "read_job",
        "read_metrics",
        "stream_events",
        "cancel_job",
        "plot_job",
    }
    assert all(link["parameters"] == {"job_id": "$response.body#/id"} for link in links.values())
    operation_ids = {op["operationId"] for _, _, op in operations(document)}
    assert {link["operationId"] for link in links.values()} <= operation_ids


def test_limits_and_auth_say_when_and_how_to_retry(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        if operation.get("security"):
            assert responses["401"]["headers"]["WWW-Authenticate"]["required"], (method, path)
            assert responses["429"]["headers"]["Retry-After"]["required"], (method, path)
            assert responses["503"]["headers"]["Retry-After"]["required"], (method, path)


def test_operation_ids_are_the_route_names_once_each(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert {"submit_job", "list_jobs", "read_job", "cancel_job", "read_metrics", "stream_events"} <= set(ids)
    app = create_app()

    def probe() -> dict[str, str]:
        """A route that answers two methods."""
        return {}

    app.add_api_route("/probe", probe, methods=["GET", "HEAD"])
    with pytest.warns(UserWarning, match="Duplicate Operation ID probe"):  # FastAPI's, before the document fixes it
        probed = app.openapi()["paths"]["/probe"]
    assert sorted(op["operationId"] for op in probed.values()) == ["probe", "probe_head"]


def test_every_ref_resolves_in_the_document(document: dict[str, Any]) -> None:
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(document)))
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref  # a nested $defs ref would break ReDoc and Swagger UI
        assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"], ref
