"""Inserts that meet an existing key: ignore it, or update it (PostgreSQL and SQLite spell them alike)."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """The dialect's INSERT for this table, which has on_conflict_do_nothing and on_conflict_do_update."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database '{dialect}' is not supported")  # pragma: no cover


def insert_or_ignore(session: Session, table: Any) -> Any:
    """An INSERT that leaves a row with the same key as it is."""
    return insert_for(session, table).on_conflict_do_nothing()
