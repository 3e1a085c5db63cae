"""ASGI middleware that refuses, before routing, what no route can serve: a path, query or header holding a string
the database cannot store, or a query parameter given twice."""

from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from core.bounds import NUL_REASON, unstorable
from service.body_limits import App, Receive, Scope, Send, send_problem

REPEATED = "given more than once: give it once (a list, such as names, is comma-separated: {name}=a,b)"


def _query_errors(query_string: bytes) -> list[dict[str, Any]]:
    """Validation errors for query parameters no text column can hold, and for any given more than once."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    errors = [
        {"loc": ["query", name], "msg": why, "type": "string_unstorable"}
        for name, value in pairs
        if (why := unstorable(name) or unstorable(value))
    ]
    # Every parameter takes one value (lists are comma-separated): a repeat would silently keep only the last.
    repeated = [name for name, count in Counter(name for name, _ in pairs).items() if count > 1]
    errors += [
        {"loc": ["query", name], "msg": REPEATED.format(name=name), "type": "parameter_repeated"} for name in repeated
    ]
    return errors


def request_errors(scope: Scope) -> list[dict[str, Any]]:
    """What is wrong with a request's path, query and headers, as validation errors (empty when nothing is)."""
    errors = []
    if why := unstorable(scope["path"]):  # every path part is an id or a name matched against a column
        errors.append({"loc": ["path"], "msg": why, "type": "string_unstorable"})
    errors += _query_errors(scope.get("query_string", b""))
    for name, value in scope["headers"]:
        if b"\x00" in value:
            header = name.decode("latin-1").lower()
            errors.append({"loc": ["header", header], "msg": NUL_REASON, "type": "string_unstorable"})
    return errors


class RequestGuard:
    """Refuse a request with an unstorable string or a repeated query parameter, with a 422 saying where."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request line and headers, then hand the request on."""
        if scope["type"] == "http" and (errors := request_errors(scope)):
            detail = ", ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:5])
            await send_problem(send, 422, "Invalid request", detail, "validation", errors)
            return
        await self.app(scope, receive, send)
