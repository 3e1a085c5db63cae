"""The real stack as processes: the API under uvicorn and a Celery worker, over a real Redis and database."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.redis_server import RedisServer
from tests.conftest import DIALECTS, create_database
from tests.e2e.stack import (
    TERMINAL,
    Stack,
    create_key,
    free_port,
    launch_stack,
    start_process,
    stop_processes,
    wait_ready,
)

# The helpers live in tests/e2e/stack.py (no pytest there, so the benchmarks use them too); the tests import them here.
__all__ = [
    "TERMINAL",
    "Stack",
    "create_key",
    "free_port",
    "running_stack",
    "start_process",
    "stop_processes",
    "wait_ready",
]


@contextlib.contextmanager
def running_stack(dialect: str, workdir: Path, redis_server: RedisServer) -> Iterator[Stack]:
    """The API and one worker as processes on a fresh database of this dialect; stopped and dropped on exit."""
    url, drop = create_database(dialect, workdir)
    env = {
        "GRADYARD_FLUSH_SECONDS": "0.2",
        "GRADYARD_RATE_LIMIT_PER_MINUTE": "100000",  # the tests poll hard; rate limits have their own tests
    }
    try:
        with launch_stack(database_url=url, broker_url=redis_server.url, workdir=workdir, env=env) as stack:
            yield stack
    finally:
        drop()


@pytest.fixture(scope="session", params=DIALECTS)
def stack(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API and one worker as real processes, on SQLite and then on PostgreSQL: one stack per database for every
    module that uses it (pytest runs all of one database's tests, then the other's), since starting one costs more
    than most of its tests. Tests therefore never assume an empty service: they look only at what they made, and a
    second user a test makes has a name no other module uses."""
    with running_stack(request.param, tmp_path_factory.mktemp(f"stack-{request.param}"), redis_server) as running:
        yield running
