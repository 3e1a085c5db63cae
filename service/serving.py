"""How uvicorn serves the API: its options, and an h11 protocol that gives each request a deadline to arrive."""

import asyncio
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from core.settings import get_settings
from service.problems import PROBLEM_TYPE_BASE

TIMED_OUT = orjson.dumps(
    {
        "type": PROBLEM_TYPE_BASE + "request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": "the request's headers did not arrive in time; send the whole request at once",
    }
)
TIMED_OUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(TIMED_OUT), TIMED_OUT)
)


class ReadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline: a request's headers and body must arrive within the read timeout of
    its first byte (or of the connection), else the connection is closed; a slow client cannot hold one open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = get_settings().request_read_timeout_seconds
        self.read_deadline: asyncio.TimerHandle | None = None
        self.answered = 0  # requests this connection has had answered

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request as the connection opens."""
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        """Hand the bytes to h11, then keep the clock running only while a request is still arriving."""
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        """Between requests uvicorn's keep-alive timeout rules; the clock starts again with the next byte."""
        self.answered += 1
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock with the connection."""
        self._stop()
        super().connection_lost(exc)

    def _watch(self) -> None:
        arriving = self.conn.their_state is h11.SEND_BODY or (
            self.conn.their_state is h11.IDLE and (self.answered == 0 or bool(self.conn.trailing_data[0]))
        )
        if not arriving or self.transport.is_closing():
            self._stop()
        elif self.read_deadline is None:
            self.read_deadline = self.loop.call_later(self.read_timeout, self._timed_out)

    def _stop(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def _timed_out(self) -> None:
        self.read_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE:  # no request line and headers yet
            self.transport.write(TIMED_OUT_RESPONSE)
        self.logger.info("closed a connection whose request did not arrive within %ss", self.read_timeout)
        self.transport.close()


def server_options() -> dict[str, Any]:
    """uvicorn's options for the API (beside host and port): the read deadline, keep-alive, quick shutdown."""
    return {
        "http": ReadDeadlineProtocol,
        "proxy_headers": False,
        "timeout_keep_alive": 5,  # idle keep-alive connections close after 5 s (uvicorn's default, made explicit)
        # An open event stream lasts as long as its job: a stop must not wait hours for it (a client reconnects).
        "timeout_graceful_shutdown": 10,
    }
