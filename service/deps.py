"""Request-scoped dependencies: a database session per request, the Celery app that enqueues."""

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from celery import Celery
from fastapi import Depends
from sqlalchemy.orm import Session

from core.db import get_sessionmaker
from core.queue import make_celery
from core.settings import get_settings


def get_session() -> Iterator[Session]:
    """A session for one request; rolled back if the route did not commit."""
    with get_sessionmaker()() as session:
        yield session


@lru_cache
def get_celery() -> Celery:
    """The API's Celery app, used only to send tasks by name."""
    return make_celery(get_settings())


SessionDep = Annotated[Session, Depends(get_session)]
