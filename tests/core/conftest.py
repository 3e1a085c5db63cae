"""A session on a fresh database, once per dialect."""

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from core.db import make_engine


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on a fresh, migrated database (SQLite, then PostgreSQL)."""
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as db:
        yield db
    engine.dispose()
