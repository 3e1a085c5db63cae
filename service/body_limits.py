"""Request bodies: refused above a size before they are parsed (declared or streamed), when not JSON in UTF-8, above a
nesting depth, and with strings the database cannot store."""

import json
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import orjson

from core.bounds import unstorable
from core.settings import get_settings
from service.problems import PROBLEM_TYPE_BASE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# Uploads stream to the artifact store under their own, larger limit (service.uploads): never buffered here.
STREAMED_PATHS = frozenset({"/datasets"})
# Prediction bodies have their own limit, and may be binary (.npy, Arrow): the route reads them by their Content-Type
# and checks them itself (scanning a large JSON body here, byte by byte, would cost more than the prediction).
PREDICT_PATH = re.compile(r"/jobs/[^/]+/predict/?")
DRAIN_FACTOR = 64  # past the limit, read on (up to this many limits) so a streaming client gets to read the 413


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether JSON text nests objects and arrays deeper than the limit (strings are skipped, escapes honoured)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return False


def _strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in decoded JSON, object keys included, with where it is."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            # A key is named in the answer's loc: a lone surrogate there is spelled as its escape.
            where = (*loc, key.encode("utf-8", "backslashreplace").decode())
            yield where, key
            yield from _strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def unstorable_strings(body: bytes) -> list[dict[str, Any]]:
    """Validation errors for the strings of a JSON body that no text column can hold (a NUL, a lone surrogate)."""
    if b"\\u" not in body:  # only an escape can carry either into valid JSON
        return []
    try:
        decoded = json.loads(body)
    except ValueError:  # not JSON: the route's own parsing says so
        return []
    return [
        {"loc": list(loc), "msg": why, "type": "string_unstorable"}
        for loc, text in _strings(decoded, ("body",))
        if (why := unstorable(text))
    ]


async def send_problem(
    send: Send, status: int, title: str, detail: str, kind: str, errors: list[dict[str, Any]] | None = None
) -> None:
    """Answer with a problem+json body from ASGI middleware, before the app sees the request."""
    problem: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    if errors is not None:
        problem["errors"] = errors
    body = orjson.dumps(problem)
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    """ASGI middleware: a body too large (413), not JSON (415), not UTF-8 (400) or bad for SQL (422) is refused."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read and check the body of requests that carry one, then hand it on."""
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or scope["path"].rstrip("/") in STREAMED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        predicting = PREDICT_PATH.fullmatch(scope["path"]) is not None
        limit = settings.max_predict_bytes if predicting else settings.max_body_bytes
        too_large = f"the request body is larger than {limit:,} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _drain(receive, limit * DRAIN_FACTOR)
            await send_problem(send, 413, "Request too large", too_large, "request-too-large")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:  # a streamed body that never declared its length
                if more:
                    await _drain(receive, limit * DRAIN_FACTOR)
                await send_problem(send, 413, "Request too large", too_large, "request-too-large")
                return
        body = b"".join(chunks)
        if not predicting and (refusal := body_problem(scope, body, max_depth=settings.max_json_depth)):
            await send_problem(send, *refusal)
            return
        await self.app(scope, _replay(body, receive), send)


Refusal = tuple[int, str, str, str, list[dict[str, Any]] | None]


def media_type(scope: Scope) -> str | None:
    """The request's Content-Type without its parameters, lower-cased; None when it sent none."""
    raw = dict(scope["headers"]).get(b"content-type")
    return None if raw is None else raw.decode("latin-1").split(";")[0].strip().lower()


def _not_json(sent: str | None) -> str:
    how = "came without a Content-Type" if not sent else f"is sent as '{sent}'"
    return f"the request body {how}; this API reads JSON only: send it with 'Content-Type: application/json'"


def body_problem(scope: Scope, body: bytes, *, max_depth: int) -> Refusal | None:
    """Why a body cannot be read as this API's JSON (the status, title, detail, kind and errors), or None if it can."""
    if not body.strip():  # no body (a cancel): the route says if it needed one
        return None
    sent = media_type(scope)
    if sent is None or not (sent == "application/json" or (sent.startswith("application/") and sent.endswith("+json"))):
        return 415, "Unsupported media type", _not_json(sent), "unsupported-media-type", None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = (
            f"the request body is not UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}): send JSON as UTF-8"
        )
        return 400, "Malformed JSON", detail, "malformed-json", None
    if json_depth_exceeds(body, max_depth):
        return 422, "Invalid request", f"the JSON body nests deeper than {max_depth} levels", "validation", None
    if errors := unstorable_strings(body):
        detail = ", ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:5])
        return 422, "Invalid request", detail, "validation", errors
    return None


async def _drain(receive: Receive, most: int) -> None:
    """Read and drop the rest of a refused body (up to `most` bytes): a client that sends its whole body before it
    reads (httpx, requests, curl without Expect: 100-continue) then reads the 413 instead of a broken pipe."""
    drained = 0
    while drained <= most:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
