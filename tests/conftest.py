"""Shared fixtures: a private Redis, a fresh database per dialect (SQLite and PostgreSQL), settings wiring."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cli.redis_server import RedisServer, start_redis
from core.migrate import upgrade_to_head

# Where the suite finds a PostgreSQL server it may create databases on (trust auth on CI machines).
PG_ADMIN_URL = os.environ.get("GRADYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis of the suite's own, never the machine's standard one."""
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"PostgreSQL must be reachable in CI at {PG_ADMIN_URL}: {exc}") from exc
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")


def create_database(dialect: str, tmp_path: Path) -> tuple[str, "DatabaseDropper"]:
    """A new, migrated database of this dialect: its URL and how to drop it."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'gradyard.db'}"
        upgrade_to_head(url, wait_seconds=5)
        return url, DatabaseDropper(None)
    name = f"gradyard_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    upgrade_to_head(url, wait_seconds=5)
    return url, DatabaseDropper(name)


class DatabaseDropper:
    """Drops a PostgreSQL test database (nothing to do for SQLite: its file lives in a temp dir)."""

    def __init__(self, name: str | None) -> None:
        self.name = name

    def __call__(self) -> None:
        """Drop the database, closing whatever still holds it."""
        if self.name is None:
            return
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    url, drop = create_database(request.param, tmp_path)
    try:
        yield url
    finally:
        drop()


def clear_cached_settings() -> None:
    """Forget the process's settings, engine and Celery app, so the next use reads the environment again."""
    from core.db import get_engine, get_sessionmaker
    from core.settings import get_settings
    from service.deps import get_celery

    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker, get_celery):
        cached.cache_clear()


@pytest.fixture
def configured(database_url: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process's settings pointed at the test database and the test Redis."""
    monkeypatch.setenv("GRADYARD_DATABASE_URL", database_url)
    monkeypatch.setenv("GRADYARD_BROKER_URL", redis_server.url)
    monkeypatch.setenv("GRADYARD_QUEUE", f"training-{uuid.uuid4().hex[:8]}")
    clear_cached_settings()
    yield database_url
    clear_cached_settings()
