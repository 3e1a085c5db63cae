"""The API's server closes connections whose requests never finish arriving, tested with raw sockets."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from core.settings import get_settings
from service.serving import server_options

READ_TIMEOUT = 0.5


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The smallest app that reads a whole body, as every body route does."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A server with the API's options and a short read timeout, on a free loopback port."""
    monkeypatch.setenv("GRADYARD_REQUEST_READ_TIMEOUT_SECONDS", str(READ_TIMEOUT))
    get_settings.cache_clear()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(echo, host="127.0.0.1", port=free, log_config=None, **server_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield free
    server.should_exit = True
    thread.join(10)
    get_settings.cache_clear()


def read_until_closed(connection: socket.socket, since: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and the seconds from `since` to then."""
    connection.settimeout(5.0)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received, time.monotonic() - since


def trickle_until_closed(connection: socket.socket, *, limit: float) -> float:
    """Send a byte every 50 ms until the server closes the connection; how long it took (inf: it never did)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            connection.sendall(b"x")
        except OSError:
            return time.monotonic() - start
        time.sleep(0.05)
    return float("inf")


def test_headers_that_never_end_get_a_408_and_the_connection_closes(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        start = time.monotonic()  # the clock runs from the connection
        connection.sendall(b"GET /jobs HTTP/1.1\r\nHost: x\r\n")  # no blank line: the headers never end
        received, took = read_until_closed(connection, start)
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b'"status":408' in received
    assert READ_TIMEOUT - 0.1 <= took < READ_TIMEOUT + 2


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        received, took = read_until_closed(connection, time.monotonic())
    assert received.startswith(b"HTTP/1.1 408") and took < READ_TIMEOUT + 2


def test_a_body_that_never_ends_closes_the_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        start = time.monotonic()
        connection.sendall(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        received, took = read_until_closed(connection, start)
    assert received == b"" and READ_TIMEOUT <= took < READ_TIMEOUT + 2


def test_a_slow_trickle_does_not_reset_the_clock(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        assert trickle_until_closed(connection, limit=READ_TIMEOUT + 3) < READ_TIMEOUT + 2


def test_whole_requests_are_answered_and_keep_alive_works(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for _ in range(2):
            connection.sendall(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            connection.settimeout(5)
            answer = b""
            while not answer.endswith(b"hello"):
                answer += connection.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"hello")
            time.sleep(READ_TIMEOUT * 1.5)  # idle between requests: keep-alive's rule (5 s), not the read deadline
