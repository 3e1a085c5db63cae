"""The job page follows the job's event stream: the chart grows from stream events, a dropped connection resumes with
Last-Event-ID (nothing lost, nothing twice), and a cancel shows without a reload. Its point-to-chart delay is written
to test-artifacts/dashboard/stream-delay.json."""

import json
import statistics
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.clients.tcp_proxy import CuttableProxy, cuttable_proxy
from tests.e2e.clients.test_dashboard import ARTIFACTS, browser, points, wait_until  # noqa: F401
from tests.e2e.conftest import Stack
from tests.e2e.test_training_jobs import LONG

# Every change of the loss chart's point count, with the browser's clock and the last step drawn.
WATCH_CHART = """
window.seen = [];
const chart = document.querySelector('[data-panel="Loss"]');
new MutationObserver(() => window.seen.push({
  at: Date.now(), points: Number(chart.dataset.points), step: Number(chart.parentElement.dataset.lastStep),
})).observe(chart, { attributes: true, attributeFilter: ["data-points"] });
"""


@pytest.fixture
def proxy(live_stack: Stack) -> Iterator[CuttableProxy]:
    """The browser's way to the API, which the test can cut."""
    with cuttable_proxy(live_stack.url) as running:
        yield running


@pytest.fixture
def proxied_page(browser: Browser, live_stack: Stack, proxy: CuttableProxy) -> Iterator[Page]:  # noqa: F811
    """A page that holds the stack's key and reaches the API through the proxy; page errors fail the test."""
    context = browser.new_context(base_url=f"http://127.0.0.1:{proxy.port}", viewport={"width": 1280, "height": 860})
    context.add_init_script(f"localStorage.setItem('gradyard.key', {live_stack.key!r})")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def _delays(seen: list[dict[str, Any]], job: dict[str, Any], history: dict[str, Any]) -> list[float]:
    """Seconds from each drawn step's point being made (started_at + its time) to the chart showing it."""
    started = datetime.fromisoformat(job["started_at"]).timestamp()
    made = dict(zip(history["train_loss"]["step"], history["train_loss"]["time"], strict=True))
    return [entry["at"] / 1000 - (started + made[entry["step"]]) for entry in seen if entry["step"] in made]


def test_the_chart_follows_the_stream_through_a_drop_and_a_cancel(
    proxied_page: Page, live_stack: Stack, proxy: CuttableProxy
) -> None:
    page = proxied_page
    job_id = live_stack.submit(LONG | {"name": "live-chart"})
    live_stack.wait(job_id, {"running"})
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/metrics?" in r.url else None)
    page.goto(f"/#/jobs/{job_id}")
    charts = page.locator(".charts")
    expect(charts).to_have_attribute("data-stream", "live")
    loss = '[data-panel="Loss"]'
    wait_until(lambda: points(page, loss) > 0)
    page.evaluate(WATCH_CHART)
    grown = points(page, loss)
    wait_until(lambda: points(page, loss) > grown)  # grows with no reload and no polling

    before_drop = points(page, loss)
    proxy.cut()  # the connection drops mid-stream; the page reconnects with Last-Event-ID
    wait_until(lambda: len(proxy.stream_requests()) >= 2 and points(page, loss) > before_drop, timeout=30)
    streams = proxy.stream_requests()
    assert "last-event-id" not in streams[0]
    assert streams[-1]["last-event-id"].count(":") == 1  # resumed where it stood
    assert streams[-1]["authorization"] == f"Bearer {live_stack.key}"

    assert [url for url in polls if "after_step" in url] == []  # the stream did it all; no polling
    assert live_stack.http.post(f"/jobs/{job_id}/cancel").status_code == 202
    expect(page.locator(".toolbar h1 + .status")).to_have_text("cancelled", timeout=15_000)
    expect(charts).to_have_attribute("data-stream", "ended")
    job = live_stack.wait(job_id)
    history = live_stack.metrics(job_id)["metrics"]
    drawn = sum(len(history[name]["step"]) for name in ("train_loss", "val_loss") if name in history)
    wait_until(lambda: points(page, loss) == drawn, timeout=10)  # every point once: none lost, none twice

    delays = _delays(page.evaluate("window.seen"), job, history)
    assert delays
    report = {
        "what": "seconds from a point being made on the worker (started_at + its time) to the chart drawing it",
        "samples": len(delays),
        "median_s": round(statistics.median(delays), 3),
        "max_s": round(max(delays), 3),
        "flush_seconds": float(live_stack.env.get("GRADYARD_FLUSH_SECONDS", "0.5")),
        "stream_poll_seconds": float(live_stack.env.get("GRADYARD_STREAM_POLL_SECONDS", "0.25")),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "stream-delay.json").write_text(json.dumps(report, indent=2) + "\n")
    assert report["median_s"] < 5, report
