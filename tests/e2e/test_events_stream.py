"""The live stream of a real running job: read from the moment it is queued until the stream ends by itself."""

import time

import httpx
import pytest

from client import Client
from tests.e2e.conftest import Stack
from tests.e2e.test_training_jobs import THERMOMETER as THERMOMETER_JOB
from tests.sse import Event, flatten, read_events

pytestmark = pytest.mark.e2e

# Full-batch epochs of 11 samples: thousands of points over a few seconds, so the stream has to carry them live.
THERMOMETER = THERMOMETER_JOB | {"name": "thermometer-streamed", "epochs": 3000}


def read_stream(stack: Stack, job_id: str, last_id: str | None = None) -> list[tuple[float, Event]]:
    """Every event of the job's stream with the time it arrived, until the server ends the stream."""
    headers = {"Authorization": f"Bearer {stack.key}"} | ({"Last-Event-ID": last_id} if last_id else {})
    arrived = []
    with httpx.stream(
        "GET", f"{stack.url}/jobs/{job_id}/events", headers=headers, timeout=httpx.Timeout(10, read=120)
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in read_events(response.iter_lines()):
            arrived.append((time.monotonic(), event))
    return arrived


def test_a_running_job_streams_its_life_and_every_point_once(stack: Stack) -> None:
    job_id = stack.submit(THERMOMETER)
    arrived = read_stream(stack, job_id)
    events = [event for _, event in arrived]
    assert [e.data["status"] for e in events if e.event == "status"] == ["queued", "running", "succeeded"]
    assert events[-1].event == "end" and events[-1].data == {"status": "succeeded", "reason": None, "error": None}
    assert stack.job(job_id)["status"] == "succeeded"  # the stream ended because the job did, not before
    history = stack.metrics(job_id)["metrics"]
    assert flatten(events) == history
    assert history["train_loss"]["step"] == list(range(1, 3001))
    metrics_at = [at for at, event in arrived if event.event == "metrics"]
    assert len(metrics_at) > 1, "the points came in one piece at the end, not live"
    assert metrics_at[-1] - metrics_at[0] > 0.2  # spread over the run, one flush or more apart
    assert "rewind" not in {e.event for e in events}
    assert [e.event for _, e in read_stream(stack, job_id, last_id=events[-1].id)] == ["end"]
    with Client(stack.url, stack.key) as client:  # the Python client reads the same stream
        replay = list(client.events(job_id, names=["train_loss"]))
    assert flatten(replay) == {"train_loss": history["train_loss"]} and replay[-1].event == "end"


def test_the_stream_narrows_to_names_and_refuses_bad_ones(stack: Stack) -> None:
    job_id = stack.submit(THERMOMETER | {"epochs": 300})
    response = stack.http.get(f"/jobs/{job_id}/events", params={"names": "val_loss,nope"})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["query", "names"]
    with httpx.stream(
        "GET",
        f"{stack.url}/jobs/{job_id}/events",
        params={"names": "lr"},
        headers={"Authorization": f"Bearer {stack.key}"},
        timeout=httpx.Timeout(10, read=120),
    ) as streamed:
        events = list(read_events(streamed.iter_lines()))
    assert flatten(events) == stack.metrics(job_id, names="lr")["metrics"]
    assert list(flatten(events)) == ["lr"] and events[-1].event == "end"
