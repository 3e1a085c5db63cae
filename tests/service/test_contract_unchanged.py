"""GET /catalog and openapi.json stay byte-identical to the recorded documents (a refactor must not change them).

A change that means to alter either document regenerates both records with:
    PYTHONPATH=$PWD .venv/bin/python -m tests.service.test_contract_unchanged
"""

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import authenticate

RECORDED = Path(__file__).resolve().parent / "recorded"


def _app() -> FastAPI:
    app = create_app()
    # The catalog needs a key only to be served; its bytes do not depend on who asks.
    app.dependency_overrides[authenticate] = lambda: None
    return app


def openapi_document() -> bytes:
    """The OpenAPI document in the key order it is served in (so order counts too), indented so a diff reads well."""
    return (json.dumps(_app().openapi(), indent=1, ensure_ascii=False) + "\n").encode()


def catalog_body() -> bytes:
    """The exact bytes GET /catalog answers."""
    response = TestClient(_app()).get("/catalog")
    assert response.status_code == 200
    return bytes(response.content)


def test_openapi_document_is_the_recorded_one() -> None:
    assert openapi_document() == (RECORDED / "openapi.json").read_bytes()


def test_catalog_body_is_the_recorded_one() -> None:
    assert catalog_body() == (RECORDED / "catalog.json").read_bytes()


if __name__ == "__main__":
    (RECORDED / "openapi.json").write_bytes(openapi_document())
    (RECORDED / "catalog.json").write_bytes(catalog_body())
