"""Request bodies: refused above a size before they are parsed (declared or streamed), and above a nesting depth."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from core.settings import get_settings
from service.problems import PROBLEM_TYPE_BASE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# Uploads stream to the artifact store under their own, larger limit (service.uploads): never buffered here.
STREAMED_PATHS = frozenset({"/datasets"})
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


async def _problem(send: Send, status: int, title: str, detail: str, kind: str) -> None:
    body = orjson.dumps({"type": PROBLEM_TYPE_BASE + kind, "title": title, "status": status, "detail": detail})
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    """ASGI middleware: 413 for a body over the size limit, 422 for JSON nested too deep; the app sees neither."""

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
        limit = settings.max_body_bytes
        too_large = f"the request body is larger than {limit:,} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _drain(receive, limit * DRAIN_FACTOR)
            await _problem(send, 413, "Request too large", too_large, "request-too-large")
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
                await _problem(send, 413, "Request too large", too_large, "request-too-large")
                return
        body = b"".join(chunks)
        if json_depth_exceeds(body, settings.max_json_depth):
            detail = f"the JSON body nests deeper than {settings.max_json_depth} levels"
            await _problem(send, 422, "Invalid request", detail, "validation")
            return
        await self.app(scope, _replay(body, receive), send)


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
