"""Bring a database to the newest schema with Alembic, waiting for it to accept connections first."""

import logging
import time
from pathlib import Path

from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from alembic import command
from core.db import make_engine

log = logging.getLogger(__name__)
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def wait_for_database(url: str, *, timeout_seconds: float) -> None:
    """Return once the database answers a query; raise OperationalError after the timeout."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout_seconds
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except OperationalError:
                if time.monotonic() > deadline:
                    raise
                log.info("database not reachable yet, retrying")
                time.sleep(1)
    finally:
        engine.dispose()


def upgrade_to_head(url: str, *, wait_seconds: float = 60.0) -> None:
    """Migrate the database at url to the newest revision."""
    wait_for_database(url, timeout_seconds=wait_seconds)
    config = Config(str(ALEMBIC_INI))
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
