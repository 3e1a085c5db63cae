"""One running service for the tests of its clients: the Python client, the `gradyard` verbs, the dashboard."""

from collections.abc import Iterator

import pytest

from cli.redis_server import RedisServer
from tests.e2e.conftest import Stack, running_stack


@pytest.fixture(scope="package")
def live_stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An API and a worker on SQLite (the SQL is tested on both databases elsewhere), stopped when this package ends."""
    with running_stack("sqlite", tmp_path_factory.mktemp("live-stack"), redis_server) as running:
        yield running
