"""The dashboard's queue and workers views in headless Chromium against the package's live stack (one worker in pool
`default`; the browser and page fixtures are test_dashboard's): a job waiting behind a running one shows in its place
with why it waits, the pool's slots and load match GET /pools, and the workers view is for admin keys."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.clients.test_dashboard import browser, new_page, page, screenshot
from tests.e2e.conftest import Stack, create_key
from tests.e2e.test_training_jobs import LONG

pytestmark = pytest.mark.e2e
__all__ = ["browser", "page"]  # fixtures, used by name


@pytest.fixture
def admin_page(browser: Browser, live_stack: Stack) -> Iterator[Page]:
    """A page whose browser holds an admin key."""
    key = create_key(live_stack.env, "queue-admin", admin=True)
    yield from new_page(browser, live_stack, key=key)


def test_a_waiting_job_shows_its_place_and_why_it_waits(page: Page, live_stack: Stack) -> None:
    running = live_stack.submit(LONG | {"name": "queue-holds-the-worker"})
    live_stack.wait(running, {"running"})
    waiting = live_stack.submit(LONG | {"name": "queue-waits"})
    try:
        page.goto("/#/queue")
        row = page.locator(f'#queue-table tr[data-job-id="{waiting}"]')
        expect(row).to_be_visible()
        (queued,) = [j for j in live_stack.http.get("/queue").json()["items"] if j["id"] == waiting]
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(str(queued["position"]))
        expect(cells.nth(1)).to_have_text("queue-waits")
        expect(cells.nth(8)).to_have_text(queued["reason"])
        assert "busy" in queued["reason"], queued
        (pool,) = [p for p in live_stack.http.get("/pools").json()["items"] if p["name"] == "default"]
        pool_cells = page.locator('#pools-table tr[data-pool="default"] td')
        expect(pool_cells.nth(1)).to_have_text(str(pool["slots"]))
        screenshot(page, "queue.png")
    finally:
        for job_id in (waiting, running):
            live_stack.http.post(f"/jobs/{job_id}/cancel")
        live_stack.wait(running)
    expect(page.locator(f'#queue-table tr[data-job-id="{waiting}"]')).to_have_count(0)  # gone at the next refresh


def test_the_workers_view_lists_the_live_worker_for_an_admin_only(
    page: Page, admin_page: Page, live_stack: Stack
) -> None:
    page.goto("/#/workers")
    expect(page.get_by_text("Workers are listed for admin keys.")).to_be_visible()
    admin_page.goto("/#/workers")
    rows = admin_page.locator("#workers-table tbody tr")
    expect(rows.first).to_be_visible()
    listed = live_stack.http.get("/workers", headers={"Authorization": f"Bearer {admin_key(admin_page)}"}).json()
    live = [w for w in listed["items"] if w["live"]]
    assert len(live) == 1 and live[0]["pool"] == "default", listed
    row = admin_page.locator(f'#workers-table tr[data-worker-id="{live[0]["id"]}"] td')
    expect(row.nth(1)).to_have_text("default")
    expect(row.nth(4)).to_have_text("live")
    screenshot(admin_page, "workers.png")


def admin_key(admin_page: Page) -> str:
    """The key the admin page's browser holds."""
    return str(admin_page.evaluate("localStorage.getItem('gradyard.key')"))
