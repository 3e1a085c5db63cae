"""The live stream GET /jobs/{id}/events in-process: auth, refusals before the stream, every status and point once."""

from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import repository
from core.db import get_engine, session_scope
from core.metrics import Point
from core.settings import get_settings
from service.routes.events import Cursor, poll_once
from tests.service.conftest import client_with_key, key_for
from tests.sse import Event, flatten, read_events

NAMES = ("train_loss", "val_loss", "lr")


def owner_of(client: TestClient) -> str | None:
    """The user id behind the key a test client sends."""
    with session_scope() as session:
        principal = repository.principal_for_key(session, key=client.headers["authorization"].removeprefix("Bearer "))
        assert principal is not None
        return principal.user_id


def points(steps: range, *, scale: float = 1.0) -> list[Point]:
    """Each step's points, the way an epoch's end records them."""
    return [Point(name, s, s, scale / s, 0.5 * s) for s in steps for name in NAMES]


def new_job(client: TestClient) -> str:
    """A queued job of the client's user."""
    spec = {"name": "j", "epochs": 6, "dataset": {"name": "digits"}, "optimizer": {"name": "sgd"}}
    with session_scope() as session:
        job = repository.create_job(
            session, name="j", spec=spec, idempotency_key=None, request_hash=None, owner_id=owner_of(client)
        )
        return job.id


def run(job_id: str, batches: list[range], *, attempt: int = 1, scale: float = 1.0) -> None:
    """Claim the job and record these batches, one transaction each, as a worker's recorder does."""
    with session_scope() as session:
        assert repository.claim_job(session, job_id=job_id) == attempt
    for steps in batches:
        with session_scope() as session:
            batch = points(steps, scale=scale)
            repository.record_progress(
                session, job_id=job_id, attempt=attempt, points=batch, epoch=steps[-1], step=steps[-1]
            )


def finish(job_id: str, *, attempt: int = 1) -> None:
    with session_scope() as session:
        assert repository.finish_job(session, job_id=job_id, attempt=attempt, status="succeeded")


def finished_job(client: TestClient) -> str:
    job_id = new_job(client)
    run(job_id, [range(1, 3), range(3, 5), range(5, 7)])
    finish(job_id)
    return job_id


def stream(client: TestClient, job_id: str, *, names: str | None = None, last_id: str | None = None) -> list[Event]:
    """The whole stream of a job that has ended (the in-process client reads a response to its end)."""
    params = {"names": names} if names else {}
    headers = {"Last-Event-ID": last_id} if last_id else {}
    response = client.get(f"/jobs/{job_id}/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith("retry: 1000\n\n")
    return list(read_events(response.text.splitlines()))


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_the_stream_needs_a_key(app: FastAPI, client: TestClient) -> None:
    job_id = finished_job(client)
    body = problem_of(client_with_key(app, None).get(f"/jobs/{job_id}/events"), 401)
    assert body["detail"].startswith("this route needs 'Authorization: Bearer <key>'")


def test_a_missing_or_another_user_s_job_is_the_same_404_before_any_stream(app: FastAPI, client: TestClient) -> None:
    job_id = finished_job(client)
    bob = client_with_key(app, key_for("bob"))
    for target in (job_id, "11111111-1111-1111-1111-111111111111"):
        streamed, read = bob.get(f"/jobs/{target}/events"), bob.get(f"/jobs/{target}")
        assert problem_of(streamed, 404)["detail"] == f"no job has id '{target}'"
        assert streamed.content == read.content


def test_bad_names_and_a_malformed_last_event_id_are_422(client: TestClient) -> None:
    job_id = finished_job(client)
    body = problem_of(client.get(f"/jobs/{job_id}/events", params={"names": "val_loss,bogus"}), 422)
    assert body["errors"][0]["loc"] == ["query", "names"]
    assert body["errors"][0]["msg"].startswith("unknown metric 'bogus'; known: ")
    for bad in ("3", "a:1", "1:2:3", "-1:0", "1:99999999999999999999"):
        body = problem_of(client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": bad}), 422)
        assert [e["loc"] for e in body["errors"]] == [["header", "last-event-id"]], bad


def test_a_finished_job_streams_every_status_and_point_once_then_end(client: TestClient) -> None:
    job_id = finished_job(client)
    events = stream(client, job_id)
    statuses = [e.data for e in events if e.event == "status"]
    assert [(s["status"], s["attempt"], s["detail"]) for s in statuses] == [
        ("queued", 0, "submitted"),
        ("running", 1, None),
        ("succeeded", 1, None),
    ]
    assert flatten(events) == client.get(f"/jobs/{job_id}/metrics").json()["metrics"]
    assert flatten(events)["lr"]["step"] == [1, 2, 3, 4, 5, 6]
    assert events[-1].event == "end" and events[-1].data == {"status": "succeeded", "reason": None, "error": None}
    assert [e.event for e in events].count("end") == 1
    log_ids = [int(e.id.split(":")[0]) for e in events if e.id]
    assert log_ids == sorted(log_ids) and events[-1].id == f"{log_ids[-1]}:6"


def test_a_reconnect_gets_only_what_is_newer(client: TestClient) -> None:
    job_id = finished_job(client)
    events = stream(client, job_id)
    running = next(e for e in events if e.event == "status" and e.data["status"] == "running")
    assert running.id is not None
    resumed = stream(client, job_id, last_id=f"{running.id.split(':')[0]}:4")
    assert [e.event for e in resumed] == ["status", "metrics", "end"]
    assert resumed[0].data["status"] == "succeeded"
    full = client.get(f"/jobs/{job_id}/metrics", params={"after_step": 4}).json()["metrics"]
    assert flatten(resumed) == full and full["val_loss"]["step"] == [5, 6]
    assert [(e.event, e.data) for e in stream(client, job_id, last_id=events[-1].id)] == [
        ("end", {"status": "succeeded", "reason": None, "error": None})
    ]


def test_names_narrow_the_metrics(client: TestClient) -> None:
    job_id = finished_job(client)
    events = stream(client, job_id, names="val_loss")
    assert list(flatten(events)) == ["val_loss"]
    assert flatten(events)["val_loss"]["step"] == [1, 2, 3, 4, 5, 6]


def test_a_resumed_attempt_rewinds_what_the_client_had_past_its_checkpoint(client: TestClient) -> None:
    job_id = new_job(client)
    run(job_id, [range(1, 4), range(4, 6)])
    with session_scope() as session:
        repository.record_checkpoint(session, job_id=job_id, attempt=1, path="jobs/x/c.pt", step=3)
    before = stream_of_running(job_id)
    assert flatten(before)["lr"]["step"] == [1, 2, 3, 4, 5]
    with session_scope() as session:
        assert repository.hand_back(session, job_id=job_id, attempt=1, reason="shutdown", detail="bye")
    with session_scope() as session:
        assert repository.claim_job(session, job_id=job_id) == 2
        assert repository.get_job(session, job_id=job_id).step == 3  # the claim itself goes back to the checkpoint
        repository.rewind_history(session, job_id=job_id, attempt=2, step=3, epoch=3)
    with session_scope() as session:
        repository.record_progress(
            session, job_id=job_id, attempt=2, points=points(range(4, 7), scale=2.0), epoch=6, step=6
        )
    finish(job_id, attempt=2)
    after = stream(client, job_id, last_id=before[-1].id)
    assert [e.event for e in after] == ["status", "rewind", "status", "status", "metrics", "end"]
    assert [e.data.get("status") for e in after if e.event == "status"] == ["queued", "running", "succeeded"]
    assert after[1].data == {"step": 3} and after[1].id == f"{after[0].id.split(':')[0]}:3"  # type: ignore[union-attr]
    assert after[2].data["detail"] == "resuming from step 3"
    assert flatten(before + after) == client.get(f"/jobs/{job_id}/metrics").json()["metrics"]
    assert flatten(before + after)["val_loss"]["value"][3:] == [2.0 / 4, 2.0 / 5, 2.0 / 6]
    assert "rewind" not in [e.event for e in stream(client, job_id)]  # a fresh reader sees only the final history


def stream_of_running(job_id: str) -> list[Event]:
    """What a client of a running job has so far: the stream read up to now (it would go on; the test stops it)."""
    # The in-process client buffers a whole response, so read a running job's stream as the polls would make it.
    cursor = Cursor()
    batch = poll_once(job_id, cursor, None)
    assert not batch.ended
    return list(read_events(b"".join(batch.frames).decode().splitlines()))


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_every_ending_ends_the_stream_with_its_reason(client: TestClient, status: str) -> None:
    job_id = new_job(client)
    run(job_id, [range(1, 3)])
    with session_scope() as session:
        error = "diverged: train_loss is not finite" if status == "failed" else None
        reason = "diverged" if status == "failed" else "cancelled"
        assert repository.finish_job(session, job_id=job_id, attempt=1, status=status, reason=reason, error=error)
    events = stream(client, job_id)
    assert [e.data["status"] for e in events if e.event == "status"] == ["queued", "running", status]
    assert events[-1].data == {"status": status, "reason": reason, "error": error}


def test_a_point_is_sent_once_the_progress_that_covers_it_is_committed(client: TestClient) -> None:
    # The recorder commits points with the progress that covers them; points past job.step are not the stream's yet.
    job_id = new_job(client)
    with session_scope() as session:
        assert repository.claim_job(session, job_id=job_id) == 1
        repository.record_progress(session, job_id=job_id, attempt=1, points=points(range(1, 5)), epoch=2, step=2)
    cursor = Cursor()
    first = list(read_events(b"".join(poll_once(job_id, cursor, None).frames).decode().splitlines()))
    assert flatten(first)["lr"]["step"] == [1, 2] and str(cursor) == f"{cursor.event_id}:2"
    with session_scope() as session:
        repository.record_progress(session, job_id=job_id, attempt=1, points=[], epoch=4, step=4)
    second = list(read_events(b"".join(poll_once(job_id, cursor, None).frames).decode().splitlines()))
    assert [e.event for e in second] == ["metrics"] and flatten(second)["lr"]["step"] == [3, 4]
    assert poll_once(job_id, cursor, None).frames == []  # nothing new: nothing sent


def test_a_stream_holds_no_database_connection_between_polls(app: FastAPI, client: TestClient) -> None:
    job_id = new_job(client)
    run(job_id, [range(1, 3)])
    held = anyio.run(_connections_held_while_streaming, app, job_id, client.headers["authorization"])
    # From the first line on (and between polls): the request's own session is closed, each poll's too.
    assert len(held) >= 2 and set(held) == {0}


def _scope(job_id: str, authorization: str) -> dict[str, Any]:
    """An ASGI request for the job's stream, as a server would pass it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/jobs/{job_id}/events",
        "raw_path": f"/jobs/{job_id}/events".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"authorization", authorization.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }


async def _open_stream(app: FastAPI, scope: dict[str, Any], *, chunks: int, sent: Any) -> None:
    """Drive a stream as a server would; after `chunks` chunks of body the client goes away. `sent` sees each one."""
    seen = 0
    gone = anyio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal seen
        if message["type"] == "http.response.body" and message.get("body"):
            seen += 1
            await sent(seen)
            if seen == chunks:
                gone.set()

    with anyio.fail_after(30):
        await app(scope, receive, send)


async def _connections_held_while_streaming(app: FastAPI, job_id: str, authorization: str) -> list[int]:
    """Count the checked-out connections as each chunk of the stream goes out."""
    held: list[int] = []

    async def sent(_: int) -> None:
        held.append(get_engine().pool.checkedout())  # type: ignore[attr-defined]

    await _open_stream(app, _scope(job_id, authorization), chunks=2, sent=sent)
    return held


def test_a_user_may_hold_only_so_many_streams_open(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADYARD_MAX_STREAMS_PER_USER", "1")
    get_settings.cache_clear()
    job_id = new_job(client)
    run(job_id, [range(1, 3)])
    refused: list[Any] = []

    async def second_while_the_first_is_open(seen: int) -> None:
        if seen == 2:  # the first stream is open and sending: a second one from the same user is refused
            refused.append(await anyio.to_thread.run_sync(lambda: client.get(f"/jobs/{job_id}/events")))

    scope = _scope(job_id, client.headers["authorization"])
    anyio.run(lambda: _open_stream(app, scope, chunks=3, sent=second_while_the_first_is_open))
    problem = problem_of(refused[0], 429)
    assert problem["detail"].startswith("1 live streams are open for this user already")
    assert refused[0].headers["retry-after"] == "5"
    finish(job_id)
    assert stream(client, job_id)[-1].event == "end"  # the first stream's slot came back when its client went
