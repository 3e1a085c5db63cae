"""Waiting out a database outage: the end of a job must reach SQL, however long the database is away."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)
OUTAGE_SECONDS = 600.0  # how long the end of a job waits for the database to come back
T = TypeVar("T")


def through_outage(write: Callable[[], T], *, what: str, seconds: float = OUTAGE_SECONDS) -> T:
    """Run a database write, retrying with backoff while the database is unreachable (at most `seconds`)."""
    wait, deadline = 0.5, time.monotonic() + seconds
    while True:
        try:
            return write()
        except OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("%s: database unreachable, retrying in %.1fs: %s", what, wait, exc.orig)
            time.sleep(wait)
            wait = min(wait * 2, 10.0)
