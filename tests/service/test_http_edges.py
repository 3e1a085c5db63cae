"""The HTTP edges a browser, a proxy or a careless client finds: HEAD, redirects, security headers, content types."""

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.http_hygiene import relative_location
from tests.service.conftest import Stored, client_with_key
from tests.service.test_events import finished_job


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


@pytest.mark.parametrize(
    "path", ["/jobs/{id}", "/jobs", "/jobs/{id}/metrics", "/jobs/{id}/plot.png", "/catalog", "/healthz", "/", "/docs"]
)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    target = path.replace("{id}", finished_job(client))
    got, head = client.get(target), client.head(target)
    assert (head.status_code, got.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "content-length" in got.headers and path != "/jobs/{id}/plot.png":  # same bytes, same length
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_of_a_stream_ends_at_its_headers(client: TestClient) -> None:
    head = client.head(f"/jobs/{finished_job(client)}/events")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/event-stream")


def test_head_keeps_get_s_refusals(app: FastAPI, client: TestClient) -> None:
    assert client.head("/jobs/nope").status_code == 404
    assert client_with_key(app, None).head("/jobs").status_code == 401
    assert client.head("/jobs/nope/cancel").status_code == 405  # a POST route has no HEAD


@pytest.mark.parametrize(
    ("path", "location"),
    [("/jobs/", "/jobs"), ("/jobs/?limit=2", "/jobs?limit=2")],
)
def test_redirects_are_relative_whatever_the_host_header(client: TestClient, path: str, location: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == location


def test_a_relative_location_never_names_another_site() -> None:
    assert relative_location(b"http://h//evil.example/jobs") == b"/evil.example/jobs"
    assert relative_location(b"/jobs/1") == b"/jobs/1"


@pytest.mark.parametrize("path", ["/", "/static/js/app.js", "/jobs", "/healthz", "/jobs/nope", "/docs"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    if path != "/docs":
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp


THERMO_JSON = b'{"dataset": "thermometer", "model": "linear", "loss": "mse", "optimizer": "sgd"}'


@pytest.mark.parametrize(
    ("content_type", "how"),
    [
        ("text/plain", "is sent as 'text/plain'"),
        ("application/x-www-form-urlencoded", "is sent as 'application/x-www-form-urlencoded'"),
        (None, "came without a Content-Type"),
    ],
)
def test_json_sent_as_another_type_is_a_415_that_names_the_header(
    client: TestClient, stored: Stored, content_type: str | None, how: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = problem_of(client.post("/jobs", content=THERMO_JSON, headers=headers), 415)
    assert body["title"] == "Unsupported media type"
    assert body["detail"] == (
        f"the request body {how}; this API reads JSON only: send it with 'Content-Type: application/json'"
    )
    assert stored.jobs() == 0


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"])
def test_json_types_are_read(client: TestClient, content_type: str) -> None:
    assert client.post("/jobs", content=THERMO_JSON, headers={"content-type": content_type}).status_code == 201


def test_a_post_without_a_body_needs_no_content_type(client: TestClient) -> None:
    job_id = client.post("/jobs", json={"dataset": "thermometer", "model": "linear", "loss": "mse", "optimizer": "sgd"})
    assert client.post(f"/jobs/{job_id.json()['id']}/cancel").status_code == 202


@pytest.mark.parametrize(
    ("raw", "where"),
    [(b'{"name": "caf\xe9"}', "byte 0xe9 at offset 13"), ('{"name": "x"}'.encode("utf-16"), "byte 0xff at offset 0")],
)
def test_a_body_that_is_not_utf8_is_a_400_that_says_so(client: TestClient, raw: bytes, where: str) -> None:
    body = problem_of(client.post("/jobs", content=raw, headers={"content-type": "application/json"}), 400)
    assert body["title"] == "Malformed JSON" and body["type"] == "urn:gradyard:problem:malformed-json"
    assert body["detail"] == f"the request body is not UTF-8 ({where}): send JSON as UTF-8"


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/jobs/{id}/metrics", "names=train_loss&names=val_loss", "names"),
        ("/jobs/{id}/events", "names=lr&names=lr", "names"),
        ("/jobs/{id}/plot.png", "names=lr&width=300&names=val_loss", "names"),
        ("/jobs", "limit=1&limit=500", "limit"),
        ("/compare/plot.png", "jobs={id}&metric=lr&metric=val_loss", "metric"),
    ],
)
def test_a_query_parameter_given_twice_is_a_422_not_the_last_one_wins(
    client: TestClient, path: str, query: str, name: str
) -> None:
    job_id = finished_job(client)
    url = f"{path}?{query}".replace("{id}", job_id)
    body = problem_of(client.get(url), 422)
    assert body["errors"] == [
        {
            "loc": ["query", name],
            "msg": f"given more than once: give it once (a list, such as names, is comma-separated: {name}=a,b)",
            "type": "parameter_repeated",
        }
    ]
    assert client.get(f"/jobs/{job_id}/metrics?names=train_loss,val_loss").json()["metrics"].keys() == {
        "train_loss",
        "val_loss",
    }


@pytest.mark.parametrize(("page", "needs"), [("/docs", 3), ("/redoc", 2)])
def test_the_docs_load_every_file_from_the_api_itself(app: FastAPI, page: str, needs: int) -> None:
    anonymous = client_with_key(app, None)  # the docs are public
    html = anonymous.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert re.findall(r"https?://", html.text) == []  # no CDN, no web fonts: it works offline
    assets = re.findall(r"""(?:src|href)=["'](/docs-assets/[^"']+)["']""", html.text)
    assert len(set(assets)) == needs, assets
    for asset in set(assets):
        response = anonymous.get(asset)
        assert response.status_code == 200 and len(response.content) > 4000, asset
