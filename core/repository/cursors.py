"""Opaque keyset cursors for newest-first lists: (created_at, id) of the last row of a page."""

import base64
import binascii
from datetime import UTC, datetime

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
