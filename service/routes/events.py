"""The live stream of a job as Server-Sent Events: its state log and its new metric points, resumable.

Why the step cursor is exact: a worker writes a batch of points and the job's progress (`job.step`) in one
transaction, and every point of a step in the same batch. So a poll that reads the job row first and then the points
in (cursor, job.step] sends each committed point once and never half a step. A later attempt's claim sets `job.step`
back to its checkpoint and says that step in the state log; the stream then sends `rewind` before anything newer.
"""

import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from core import repository
from core.bounds import INT_MAX
from core.db import session_scope
from core.errors import JobNotFound
from core.settings import get_settings
from core.states import TERMINAL_STATUSES
from core.tables import JobEvent
from service.auth import PrincipalDep
from service.deps import SessionDep
from service.problems import problem
from service.query import wanted_names

router = APIRouter(prefix="/jobs", tags=["events"])
KEEPALIVE_SECONDS = 15.0
LAST_EVENT_ID = r"^[0-9]{1,10}:[0-9]{1,10}$"  # each part is then checked against the columns' INT_MAX


class EventStreamResponse(StreamingResponse):
    """A text/event-stream body that proxies must neither cache nor buffer; `release` runs however it ends."""

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterator[bytes],
        status_code: int = 200,  # FastAPI reads this default for the OpenAPI document
        *,
        release: Callable[[], None],
        headers: dict[str, str],
    ) -> None:
        super().__init__(content, status_code=status_code, headers=headers)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stream; give its slot back when it ends, even if the client left before the first byte."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@dataclass
class Cursor:
    """Where a client stands: the last state-log row it has and the last step whose points it has."""

    event_id: int = 0
    step: int = 0

    @classmethod
    def parse(cls, text: str | None) -> "Cursor":
        """The cursor of a Last-Event-ID header (matched to LAST_EVENT_ID); the start when absent; 422 past INT_MAX."""
        # Refused here, before the stream opens: a poll with a cursor no column holds would drop it without `end`.
        if text is None:
            return cls()
        event_id, step = map(int, text.split(":"))
        if max(event_id, step) > INT_MAX:
            why = f"not an event id this server sent: each part is at most {INT_MAX}"
            raise RequestValidationError([{"loc": ("header", "last-event-id"), "msg": why, "type": "less_than_equal"}])
        return cls(event_id, step)

    def __str__(self) -> str:
        return f"{self.event_id}:{self.step}"


@dataclass
class Batch:
    """What one look at the database found, as SSE frames; `ended` when the job is over and all of it was sent."""

    frames: list[bytes] = field(default_factory=list)
    ended: bool = False

    def add(self, kind: str, data: Any, cursor: Cursor) -> None:
        """One event: its id is the cursor after it, its data one line of JSON."""
        payload = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        self.frames.append(f"id: {cursor}\nevent: {kind}\ndata: {payload}\n\n".encode())


def _status(event: JobEvent) -> dict[str, Any]:
    return {
        "status": event.status,
        "attempt": event.attempt,
        "reason": event.reason,
        "detail": event.detail,
        "actor": event.actor,
        "at": event.at,
    }


def _send_log(batch: Batch, cursor: Cursor, events: Sequence[JobEvent]) -> None:
    """State-log rows in order; a later attempt's history went back to its checkpoint: `rewind` before its row."""
    for event in events:
        went_back = event.step  # set on a later attempt's claim only
        if went_back is not None and went_back < cursor.step:
            cursor.step = went_back
            batch.add("rewind", {"step": went_back}, cursor)
        cursor.event_id = event.id
        batch.add("status", _status(event), cursor)


def _poll(session: Session, *, job_id: str, cursor: Cursor, names: list[str] | None) -> Batch:
    """The news since the cursor (which moves on): state-log rows first, then the job row, then its points."""
    batch = Batch()
    _send_log(batch, cursor, repository.job_events_after(session, job_id=job_id, after_id=cursor.event_id))
    job = repository.get_job(session, job_id=job_id)
    status, reason, error, through = job.status, job.reason, job.error, job.step
    if through < cursor.step:  # a cursor past the job's progress: history the job no longer has
        cursor.step = through
        batch.add("rewind", {"step": through}, cursor)
    if through > cursor.step:
        series = repository.read_metrics(
            session, job_id=job_id, names=names, after_step=cursor.step, through_step=through
        )
        cursor.step = through
        if series:
            batch.add("metrics", {"step": through, "metrics": {n: s.as_dict() for n, s in series.items()}}, cursor)
    if status in TERMINAL_STATUSES:
        # The terminal row may have landed after the first read of the log (PostgreSQL reads each statement fresh).
        _send_log(batch, cursor, repository.job_events_after(session, job_id=job_id, after_id=cursor.event_id))
        batch.add("end", {"status": status, "reason": reason, "error": error}, cursor)
        batch.ended = True
    return batch


def poll_once(job_id: str, cursor: Cursor, names: list[str] | None) -> Batch:
    """One poll in a short session of its own: a stream holds no connection between polls."""
    with session_scope() as session:
        try:
            return _poll(session, job_id=job_id, cursor=cursor, names=names)
        except JobNotFound:  # deleted while streamed (a submit withdrawn): nothing more will come
            return Batch(ended=True)


class OpenStreams:
    """How many streams each user holds open in this process: each polls the database until its job ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def admit(self, user: str, limit: int) -> bool:
        """Count one more stream for this user, unless they hold `limit` already."""
        with self._lock:
            if self._open[user] >= limit:
                return False
            self._open[user] += 1
            return True

    def release(self, user: str) -> None:
        """One of this user's streams has ended."""
        with self._lock:
            self._open[user] -= 1


OPEN_STREAMS = OpenStreams()


async def _stream(request: Request, job_id: str, cursor: Cursor, names: list[str] | None) -> AsyncIterator[bytes]:
    """Poll and send until the job ends or the client goes; a comment line keeps a quiet connection open."""
    interval = get_settings().stream_poll_seconds
    yield b"retry: 1000\n\n"
    last_sent = time.monotonic()
    while not await request.is_disconnected():
        batch = await anyio.to_thread.run_sync(poll_once, job_id, cursor, names)
        for frame in batch.frames:
            yield frame
        now = time.monotonic()
        if batch.frames:
            last_sent = now
        elif now - last_sent >= KEEPALIVE_SECONDS:
            last_sent = now
            yield b": keep-alive\n\n"
        if batch.ended:
            return
        await anyio.sleep(interval)


@router.get(
    "/{job_id}/events",
    response_class=EventStreamResponse,
    responses={200: {"description": "Server-Sent Events: status, metrics, rewind, end.", "content": {}}},
)
def stream_events(
    job_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    names: Annotated[str | None, Query(max_length=1000, description="Comma-separated metric names.")] = None,
    last_event_id: Annotated[
        str | None, Header(pattern=LAST_EVENT_ID, description="Resume after this event id ('A:S').")
    ] = None,
) -> Response:
    """A job's live stream: each state-log row, new metric points as they land, then `end` when the job ends."""
    wanted, cursor = wanted_names(names), Cursor.parse(last_event_id)
    repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    session.close()  # the request's session (auth, this check) must not hold a connection for the stream's life
    user, limit = principal.user_id or principal.name, get_settings().max_streams_per_user
    if not OPEN_STREAMS.admit(user, limit):
        why = f"{limit} live streams are open for this user already, the most this server allows; close one"
        return problem(429, "Too many streams", why, kind="rate-limited", headers={"Retry-After": "5"})
    return EventStreamResponse(
        _stream(request, job_id, cursor, wanted),
        release=lambda: OPEN_STREAMS.release(user),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
