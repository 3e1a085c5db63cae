"""The API in-process (TestClient) over a real database and a real Redis broker."""

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cli.redis_server import RedisServer
from core.db import session_scope
from core.models import Job
from service.app import create_app


@pytest.fixture
def client(configured: str) -> Iterator[TestClient]:
    """A client of a fresh app; every test gets an empty database and its own queue."""
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


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
