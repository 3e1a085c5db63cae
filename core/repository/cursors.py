"""Opaque keyset cursors for newest-first lists: (created_at, id) of the last row of a page."""

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from core.bounds import unstorable
from core.errors import InvalidCursor


def encode_cursor(created_at: datetime, row_id: str) -> str:
    """The cursor that continues after this row."""
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) from a cursor; InvalidCursor for one gradyard did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, row_id = raw.split("|", 1)
        when = datetime.fromisoformat(created)
        # Only what encode_cursor writes: an aware time in range, and an id a row can have.
        if when.tzinfo is None or len(row_id) > 36 or unstorable(row_id):
            raise ValueError("not a cursor this server issued")
        return when.astimezone(UTC), row_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor(cursor) from exc


class _Row(Protocol):
    created_at: datetime
    id: str


Row = TypeVar("Row", bound=_Row)


def newest_first_page(
    session: Session, query: Select[Row], *, table: Any, limit: int, cursor: str | None
) -> tuple[Sequence[Row], str | None]:
    """One page of a filtered query over a table with created_at and id, newest first, and the next page's cursor."""
    query = query.order_by(table.created_at.desc(), table.id.desc()).limit(limit + 1)
    if cursor is not None:
        created, row_id = decode_cursor(cursor)
        query = query.where(tuple_(table.created_at, table.id) < tuple_(created, row_id))
    rows = session.scalars(query).all()
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id)
    return rows, None
