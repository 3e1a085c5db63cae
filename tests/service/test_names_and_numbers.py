"""Names and numbers a client sends never reach a 500: labels draw as text, and what a column cannot hold is a 422."""

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.bounds import INT_MAX
from service.app import create_app
from tests.service.conftest import Stored
from tests.service.test_events import finished_job, stream
from tests.service.test_jobs_api import THERMOMETER
from tests.service.test_plots import make_job

# A "$" drawn as text (glyph 7 of DejaVu Sans); mathtext would take the dollars for delimiters and draw none.
DOLLAR_GLYPH = 'id="DejaVuSans-7"'


@pytest.mark.parametrize("name", [r"$\frac{$", "$x^2$ run", "costs $5 and $6", r"a\$b_c$"])
def test_a_job_named_like_mathtext_plots_its_name_as_text(client: TestClient, name: str) -> None:
    job_id, other = make_job(client, name), make_job(client, "plain")
    for fmt in ("png", "svg"):
        assert client.get(f"/jobs/{job_id}/plot.{fmt}").status_code == 200
        compare = client.get(f"/compare/plot.{fmt}", params={"jobs": f"{job_id},{other}", "metric": "val_loss"})
        assert compare.status_code == 200
    svg = client.get(f"/jobs/{job_id}/plot.svg").text
    assert f"<!-- {name} (running, epoch 5/10) -->" in svg and DOLLAR_GLYPH in svg
    compare_svg = client.get("/compare/plot.svg", params={"jobs": f"{job_id},{other}", "metric": "lr"}).text
    assert f"<!-- {name} ({job_id[:8]}) -->" in compare_svg and DOLLAR_GLYPH in compare_svg


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


NUL_MSG = "contains a NUL character (\\u0000), which cannot be stored: remove it"
SURROGATE_MSG = "contains a lone surrogate (\\ud800), which is not a character: send valid UTF-16 pairs"
THERMO = b'"dataset": "thermometer", "model": "linear", "loss": "mse", "optimizer": "sgd"'


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        (b'{"name": "a\\u0000b", %s}' % THERMO, ["body", "name"], NUL_MSG),
        (b'{"name": "\\ud800x", %s}' % THERMO, ["body", "name"], SURROGATE_MSG),
        (
            b'{%s, "early_stopping": {"metric": "val\\u0000loss"}}' % THERMO,
            ["body", "early_stopping", "metric"],
            NUL_MSG,
        ),
        (
            b'{%s, "model": {"name": "mlp", "hidden": [8], "x\\ud800": 1}}' % THERMO,
            ["body", "model", "x\\ud800"],
            SURROGATE_MSG,
        ),
    ],
)
def test_a_body_string_no_column_can_hold_is_a_422_that_says_where(
    client: TestClient, stored: Stored, body: bytes, loc: list[str], msg: str
) -> None:
    response = client.post("/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error == {"loc": loc, "msg": msg, "type": "string_unstorable"}
    assert (stored.jobs(), stored.queued_messages()) == (0, 0)


@pytest.mark.parametrize(
    ("path", "params", "headers", "loc"),
    [
        ("/jobs/a%00b", {}, {}, ["path"]),
        ("/jobs/a%00b/metrics", {}, {}, ["path"]),
        ("/jobs/a%00b/cancel", {}, {}, ["path"]),
        ("/jobs/{id}/cancel", {}, {"Idempotency-Key": "k\x00"}, ["header", "idempotency-key"]),
        ("/jobs", {"cursor": "abc\x00"}, {}, ["query", "cursor"]),
        ("/jobs", {"status": "\x00"}, {}, ["query", "status"]),
        ("/jobs/{id}/metrics", {"names": "lr\x00"}, {}, ["query", "names"]),
        ("/compare/plot.png", {"jobs": "{id},\x00", "metric": "lr"}, {}, ["query", "jobs"]),
    ],
)
def test_a_path_query_or_header_with_a_nul_is_a_422(
    client: TestClient, path: str, params: dict[str, str], headers: dict[str, str], loc: list[str]
) -> None:
    job_id = make_job(client, "j")
    method = client.post if path.endswith("/cancel") else client.get
    resolved = {k: v.replace("{id}", job_id) for k, v in params.items()}
    body = problem_of(method(path.replace("{id}", job_id), params=resolved, headers=headers), 422)
    assert body["errors"] == [{"loc": loc, "msg": NUL_MSG, "type": "string_unstorable"}]


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-01T00:00:00+00:00|a\x00b",  # an id no row can have
        "2026-01-01T00:00:00+00:00|" + "x" * 37,  # longer than any id
        "2026-01-01T00:00:00|11111111-1111-1111-1111-111111111111",  # a naive time
        "0001-01-01T00:00:00+14:00|11111111-1111-1111-1111-111111111111",  # before year 1 in UTC
    ],
)
def test_a_crafted_cursor_is_a_422(client: TestClient, raw: str) -> None:
    body = problem_of(client.get("/jobs", params={"cursor": _cursor(raw)}), 422)
    assert body["errors"] == [
        {"loc": ["query", "cursor"], "msg": "not a cursor this server issued", "type": "cursor_invalid"}
    ]


@pytest.mark.parametrize("after_step", [2**31, 2**63, 2**64, 10**30])
def test_an_after_step_past_the_column_is_a_422(client: TestClient, after_step: int) -> None:
    job_id = make_job(client, "j")
    body = problem_of(client.get(f"/jobs/{job_id}/metrics", params={"after_step": after_step}), 422)
    assert body["errors"] == [
        {
            "loc": ["query", "after_step"],
            "msg": "Input should be less than or equal to 2147483647",
            "type": "less_than_equal",
        }
    ]
    last = client.get(f"/jobs/{job_id}/metrics", params={"after_step": 2**31 - 1})
    assert last.status_code == 200 and last.json()["metrics"] == {}


@pytest.mark.parametrize("last_id", ["2147483648:0", "0:2147483648", "9999999999:9999999999", "1:99999999999"])
def test_a_last_event_id_past_the_columns_is_refused_before_the_stream(client: TestClient, last_id: str) -> None:
    job_id = finished_job(client)
    body = problem_of(client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": last_id}), 422)
    assert [e["loc"] for e in body["errors"]] == [["header", "last-event-id"]]


def test_the_largest_last_event_id_streams_cleanly_to_its_end(client: TestClient) -> None:
    events = stream(client, finished_job(client), last_id=f"{2**31 - 1}:{2**31 - 1}")
    assert [e.event for e in events] == ["rewind", "end"]
    assert events[0].data == {"step": 6} and events[-1].data["status"] == "succeeded"


def test_a_spec_number_past_what_the_service_holds_is_a_422(client: TestClient, stored: Stored) -> None:
    spec = THERMOMETER | {"max_runtime_seconds": 2**31}
    body = problem_of(client.post("/jobs", json=spec), 422)
    assert body["errors"][0]["loc"] == ["body", "max_runtime_seconds"]
    assert body["errors"][0]["msg"] == "Input should be less than or equal to 2147483647"
    assert stored.jobs() == 0


def _integers(node: Any, doc: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer schema under a node of the OpenAPI document, $refs followed, with where it is."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            yield from _integers(doc["components"]["schemas"][name], doc, f"{where}>{name}")
            return
        if node.get("type") == "integer":
            yield where, node
        for key, value in node.items():
            yield from _integers(value, doc, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _integers(value, doc, f"{where}[{index}]")


def test_every_integer_a_client_sends_is_bounded_by_the_columns() -> None:
    doc = create_app().openapi()
    inputs = [
        (f"{verb.upper()} {path} {where}", part)
        for path, item in doc["paths"].items()
        for verb, operation in item.items()
        for where, part in [
            *((f"{p['in']}.{p['name']}", p["schema"]) for p in operation.get("parameters", [])),
            ("body", operation.get("requestBody", {})),
        ]
    ]
    found = [(where, schema) for name, part in inputs for where, schema in _integers(part, doc, name)]
    assert any("after_step" in where for where, _ in found) and any(".epochs" in where for where, _ in found)
    unbounded = [
        where
        for where, schema in found
        if "enum" not in schema
        and not (
            schema.get("minimum", schema.get("exclusiveMinimum", -(2**63))) >= -INT_MAX - 1
            and schema.get("maximum", schema.get("exclusiveMaximum", 2**63)) <= INT_MAX
        )
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("field", "loc", "msg"),
    [
        ({"epochs": True}, ["body", "epochs"], "Input should be a valid integer"),
        ({"epochs": "3"}, ["body", "epochs"], "Input should be a valid integer"),
        ({"batch_size": 6.5}, ["body", "batch_size"], "Input should be a valid integer"),
        ({"seed": False}, ["body", "seed"], "Input should be a valid integer"),
        ({"optimizer": {"name": "sgd", "lr": "0.1"}}, ["body", "optimizer", "lr"], "Input should be a valid number"),
        (
            {"model": {"name": "mlp", "hidden": [True]}},
            ["body", "model", "hidden", 0],
            "Input should be a valid integer",
        ),
        ({"compile": "false"}, ["body", "compile"], "Input should be a valid boolean"),
        ({"compile": 0}, ["body", "compile"], "Input should be a valid boolean"),
        (
            {"dataset": {"name": "synthetic_images", "channels": "3"}},
            ["body", "dataset", "channels"],
            "Input should be 1 or 3",
        ),
    ],
)
def test_spec_numbers_and_flags_are_strict(
    client: TestClient, stored: Stored, field: dict[str, Any], loc: list[str | int], msg: str
) -> None:
    body = problem_of(client.post("/jobs", json=THERMOMETER | field), 422)
    assert [(e["loc"], e["msg"]) for e in body["errors"]] == [(loc, msg)]
    assert stored.jobs() == 0


def test_json_numbers_of_either_kind_still_fill_float_fields_and_pairs(client: TestClient) -> None:
    spec = THERMOMETER | {"optimizer": {"name": "rprop", "lr": 1, "etas": [0.5, 2]}}
    job = client.post("/jobs", json=spec)
    assert job.status_code == 201, job.text
    assert job.json()["spec"]["optimizer"] == {
        "name": "rprop",
        "lr": 1.0,
        "etas": [0.5, 2.0],
        "step_sizes": [1e-6, 50.0],
    }


@pytest.mark.parametrize("name", ["", " ", "\t\n", "\u3000"])
def test_a_blank_name_is_a_422(client: TestClient, stored: Stored, name: str) -> None:
    body = problem_of(client.post("/jobs", json=THERMOMETER | {"name": name}), 422)
    assert body["errors"] == [
        {
            "loc": ["body", "name"],
            "msg": "the name is blank: give one with a visible character, or leave it out for the default",
            "type": "name_blank",
        }
    ]
    assert stored.jobs() == 0
