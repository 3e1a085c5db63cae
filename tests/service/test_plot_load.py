"""Plots under load: renders are bounded per user and in all (429 past that), run on threads of their own so other
routes answer meanwhile, and the pictures of ended jobs are served from a cache."""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from core import repository
from core.db import session_scope
from core.settings import get_settings
from service import plotting
from service.app import create_app
from service.routes import plots
from tests.e2e.stack import free_port
from tests.service.conftest import key_for
from tests.service.test_plots import make_job

# More than the thread pool the sync routes share (anyio's 40): unbounded renders would take all of it.
FLOOD = 45
ANSWER_SECONDS = 30.0


class Draws:
    """Stands in for a drawing function: counts calls, and holds each one until `release` while `hold` is set."""

    def __init__(self, real: Callable[..., bytes]) -> None:
        self.real = real
        self.hold = threading.Event()
        self.release = threading.Event()
        self.started = 0
        self._lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> bytes:
        with self._lock:
            self.started += 1
        if self.hold.is_set():
            assert self.release.wait(ANSWER_SECONDS)
        return self.real(**kwargs)

    def wait_started(self, count: int) -> None:
        """Block until `count` drawings have begun."""
        deadline = time.monotonic() + ANSWER_SECONDS
        while self.started < count:
            assert time.monotonic() < deadline, f"{self.started} drawings began, not {count}"
            time.sleep(0.01)


@pytest.fixture
def draws(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Draws]:
    """Both plot routes draw through a Draws; two render slots in all, one per user."""
    monkeypatch.setenv("GRADYARD_PLOT_CONCURRENCY", "2")
    monkeypatch.setenv("GRADYARD_PLOT_CONCURRENCY_PER_USER", "1")
    get_settings.cache_clear()
    compare = Draws(plotting.compare_plot)
    monkeypatch.setattr(plots, "compare_plot", compare)
    monkeypatch.setattr(plots, "job_plot", Draws(plotting.job_plot))
    yield compare
    compare.release.set()  # never leave a request hanging, pass or fail


@pytest.fixture
def server_url(draws: Draws) -> Iterator[str]:
    """The API served by uvicorn on a thread of this process, so the test can hold its drawings."""
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    draws.release.set()
    server.should_exit = True
    thread.join(timeout=30)


def user(url: str, name: str) -> httpx.Client:
    """A client with a new key of this user."""
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key_for(name)}"}, timeout=ANSWER_SECONDS)


def compare(client: httpx.Client, job_id: str, **params: Any) -> httpx.Response:
    """GET /compare/plot.png of one job's val_loss."""
    return client.get("/compare/plot.png", params={"jobs": job_id, "metric": "val_loss"} | params)


def test_past_the_render_slots_plots_get_429_and_other_users_are_served(server_url: str, draws: Draws) -> None:
    alice, bob, carol = (user(server_url, name) for name in ("alice", "bob", "carol"))
    jobs = {client: make_job(client, "big") for client in (alice, bob, carol)}  # type: ignore[arg-type]
    draws.hold.set()
    with ThreadPoolExecutor(FLOOD + 2) as pool:
        try:
            held = [pool.submit(compare, client, jobs[client]) for client in (alice, bob)]
            draws.wait_started(2)  # both slots are taken and stay taken until release
            flood = [pool.submit(compare, alice, jobs[alice], width=800 + i) for i in range(FLOOD)]
            for future in flood:
                future.exception(timeout=ANSWER_SECONDS)
            busy = [future.result() for future in flood]
            assert {r.status_code for r in busy} == {429}
            assert busy[0].headers["retry-after"] == "2"
            assert busy[0].headers["content-type"] == "application/problem+json"
            assert busy[0].json()["detail"] == "1 of this user's plots are being drawn already; ask again when done"
            over_all = compare(carol, jobs[carol])
            assert over_all.status_code == 429
            assert over_all.json()["detail"] == "the server is drawing 2 plots already, its most at a time"
            listed = carol.get("/jobs")  # answers while both renders are still held
            assert listed.status_code == 200 and [j["id"] for j in listed.json()["items"]] == [jobs[carol]]
            assert not draws.release.is_set() and draws.started == 2
            draws.release.set()
            assert [future.result().status_code for future in held] == [200, 200]
        finally:
            draws.release.set()  # the pool waits for its requests: free them whatever failed
    assert compare(carol, jobs[carol]).status_code == 200  # the slots came back


def end(job_id: str) -> None:
    """End a running job as a worker does."""
    with session_scope() as session:
        assert repository.finish_job(session, job_id=job_id, attempt=1, status="succeeded")


def test_an_ended_job_s_plot_is_drawn_once_and_then_served_from_the_cache(draws: Draws, client: TestClient) -> None:
    running, done = make_job(client, "running"), make_job(client, "done")
    end(done)
    job_draws = plots.job_plot
    assert isinstance(job_draws, Draws)
    first = client.get(f"/jobs/{done}/plot.png")
    assert first.status_code == 200 and job_draws.started == 1
    again = client.get(f"/jobs/{done}/plot.png")
    assert again.content == first.content and job_draws.started == 1  # not drawn again
    assert client.get(f"/jobs/{done}/plot.png", params={"width": 640}).status_code == 200
    assert job_draws.started == 2  # other parameters, another picture
    for _ in range(2):
        assert compare(client, f"{done},{running}").status_code == 200  # type: ignore[arg-type]
    assert draws.started == 2  # a running job's picture may change: never cached
    for _ in range(2):
        assert compare(client, done).status_code == 200  # type: ignore[arg-type]
    assert draws.started == 3


def test_an_image_larger_than_the_pixel_cap_is_refused(client: TestClient) -> None:
    job_id = make_job(client, "j")
    response = client.get(f"/jobs/{job_id}/plot.png", params={"width": 4000, "height": 4000})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["query", "height"],
            "msg": "width x height is 16,000,000 pixels; at most 4,000,000",
            "type": "image_too_large",
        }
    ]
