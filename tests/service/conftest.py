"""The API in-process (TestClient) over a real database and a real Redis broker."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cli.redis_server import RedisServer
from core import repository
from core.db import session_scope
from core.settings import get_settings
from core.store import get_store
from core.tables import Job
from service.app import create_app
from tests.pools import simulate_workers


def key_for(user: str, *, admin: bool = False) -> str:
    """A new API key for this user (made if new), straight in the test database."""
    with session_scope() as session:
        return repository.issue_key(session, user_name=user, is_admin=admin).key


@pytest.fixture
def app(configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """A fresh app over an empty database, its own queue and its own artifact store (its start-up made the first
    admin key)."""
    monkeypatch.setenv("GRADYARD_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    get_store.cache_clear()
    application = create_app()
    with TestClient(application):  # runs the lifespan once
        simulate_workers()  # the default pool has free slots: a submit is sent at once
        yield application
    get_store.cache_clear()


def client_with_key(app: FastAPI, key: str | None) -> TestClient:
    """A client of the app that sends this key (or none)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return TestClient(app, raise_server_exceptions=False, headers=headers)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    """A client with the key of user 'alice'."""
    return client_with_key(app, key_for("alice"))


class Stored:
    """What a request left behind: job rows in SQL and messages in the broker's queue."""

    def __init__(self, redis_server: RedisServer) -> None:
        self.redis = redis_server.client()

    def jobs(self) -> int:
        """How many job rows exist."""
        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(Job)) or 0)

    def queued_messages(self) -> int:
        """How many messages wait in this test's queue."""
        return int(self.redis.llen(os.environ["GRADYARD_QUEUE"]))


@pytest.fixture
def stored(client: TestClient, redis_server: RedisServer) -> Stored:
    """Counters of rows and messages, for asserting that a refusal stored and queued nothing."""
    return Stored(redis_server)
