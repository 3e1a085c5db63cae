"""The API in-process over a real database (SQLite and PostgreSQL) with an artifact store of its own."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.settings import get_settings
from core.store import get_store


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """The artifact store's root for this test."""
    return tmp_path / "artifacts"


@pytest.fixture
def app(configured: str, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """The app with small dataset limits, so each limit can be reached."""
    for name, value in {
        "ARTIFACT_DIR": str(store_dir),
        "MAX_UPLOAD_BYTES": "200000",
        "MAX_DATASET_BYTES_PER_USER": "400000",
        "MAX_DATASETS_PER_USER": "5",
        "MAX_DATASET_COLUMNS": "50",
        "MAX_IMAGE_PIXELS": "4096",
        "MAX_UNPACKED_BYTES": "1000000",
        "MAX_COMPRESSION_RATIO": "50",
        "RATE_LIMIT_PER_MINUTE": "100000",
    }.items():
        monkeypatch.setenv(f"GRADYARD_{name}", value)
    get_settings.cache_clear()
    get_store.cache_clear()
    from service.app import create_app

    application = create_app()
    with TestClient(application):
        yield application
    get_settings.cache_clear()
    get_store.cache_clear()
