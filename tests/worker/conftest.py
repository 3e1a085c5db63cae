"""Fixtures the worker tests share."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import get_settings
from core.store import get_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An artifact store of this test's own."""
    monkeypatch.setenv("GRADYARD_ARTIFACT_DIR", str(tmp_path))
    get_settings.cache_clear()
    get_store.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_store.cache_clear()
