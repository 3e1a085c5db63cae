"""What the database columns can hold: every integer and string a client sends is checked against it before SQL."""

# PostgreSQL's INTEGER, the narrowest integer column either database has (SQLite's hold 2^63 - 1): a number a client
# sends that SQL compares or stores stays at or below it.
INT_MAX = 2**31 - 1
NUL_REASON = "contains a NUL character (\\u0000), which cannot be stored: remove it"


def unstorable(text: str) -> str | None:
    """Why a text column of either database cannot hold this string (a NUL, a lone surrogate), or None if it can."""
    if "\x00" in text:
        return NUL_REASON
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"contains a lone surrogate (\\u{code:04x}), which is not a character: send valid UTF-16 pairs"
    return None
