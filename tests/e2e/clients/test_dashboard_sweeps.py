"""The dashboard's sweep pages in headless Chromium against the package's live stack (the browser and page fixtures
are test_dashboard's): a finished sweep's leaderboard equals GET /sweeps/{id}/trials, its links lead to the trials'
job pages, its charts hold every trial's points and its pictures load."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.clients.test_dashboard import (
    _api_requests_after_opening,
    browser,
    page,
    points,
    screenshot,
    wait_until,
)
from tests.e2e.conftest import Stack
from tests.e2e.test_sweeps import SWEEP

pytestmark = pytest.mark.e2e
__all__ = ["browser", "page"]  # fixtures, used by name
TINY = SWEEP | {"name": "page-sweep", "pruner": "none", "max_trials": 3, "base": SWEEP["base"] | {"epochs": 2}}


def test_a_finished_sweeps_page_shows_its_leaderboard_and_links_to_its_trials(page: Page, live_stack: Stack) -> None:
    created = live_stack.http.post("/sweeps", json=TINY)
    assert created.status_code == 201, created.text
    sweep = live_stack.wait_sweep(created.json()["id"])
    assert sweep["state"] == "succeeded", sweep
    trials = live_stack.http.get(f"/sweeps/{sweep['id']}/trials").json()["items"]

    page.goto("/#/sweeps")
    link = page.locator(f'tr[data-sweep-id="{sweep["id"]}"] a').first
    expect(link).to_have_text("page-sweep")
    link.click()
    page.wait_for_url(f"**/#/sweeps/{sweep['id']}")
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("h1 + .status")).to_have_text("succeeded")
    expect(page.locator("#sweep-counts")).to_have_text("3 of 3: 3 succeeded")
    shown = [
        (
            int(str(row.get_attribute("data-trial"))),
            row.get_attribute("data-job-id"),
            row.locator("td").all_inner_texts(),
        )
        for row in rows.all()
    ]
    assert [(n, job) for n, job, _ in shown] == [(t["trial"], t["job_id"]) for t in trials]  # the same order too
    for (_, _, cells), trial in zip(shown, trials, strict=True):
        lr, momentum, hidden, value, status, epoch, job = (cell.strip() for cell in cells[1:])
        assert float(lr) == pytest.approx(trial["params"]["optimizer.lr"], rel=1e-3)
        assert float(momentum) == pytest.approx(trial["params"]["optimizer.momentum"], rel=1e-3, abs=1e-6)
        assert hidden == str(trial["params"]["model.hidden"]).replace(" ", "")
        assert float(value) == pytest.approx(trial["value"], rel=1e-3)
        assert (status, int(epoch), job) == ("succeeded", 2, trial["job_id"][:8])
    expect(page.locator("#stop-sweep")).to_be_disabled()  # an ended sweep has nothing to stop
    wait_until(lambda: points(page, "#curves-chart") == 6)  # val_accuracy of 3 trials, 2 epochs each
    wait_until(lambda: points(page, "#best-chart") == 6)  # each trial's value and the best so far
    for image in ("#parallel-plot", "#importance-plot"):
        wait_until(lambda image=image: page.locator(image).evaluate("img => img.complete && img.naturalWidth") > 0)
    screenshot(page, "sweep.png")

    page.click("#best-trial")
    page.wait_for_url(f"**/#/jobs/{sweep['best']['job_id']}")
    expect(page.locator("h1")).to_have_text(f"page-sweep #{sweep['best']['trial']}")
    page.go_back()
    last = trials[-1]
    page.locator(f'#leaderboard tr[data-job-id="{last["job_id"]}"] a').click()
    page.wait_for_url(f"**/#/jobs/{last['job_id']}")
    expect(page.locator("h1 + .status")).to_have_text("succeeded")
    expect(page.locator("h1")).to_have_text(f"page-sweep #{last['trial']}")


def test_stop_a_running_sweep_from_its_page_after_confirming(page: Page, live_stack: Stack) -> None:
    long = TINY | {"name": "page-stop", "base": SWEEP["base"] | {"epochs": 5000}}
    sweep = live_stack.http.post("/sweeps", json=long).json()
    page.goto(f"/#/sweeps/{sweep['id']}")
    expect(page.locator('#leaderboard td [data-status="running"]')).to_have_count(1, timeout=30_000)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#stop-sweep")
    expect(page.locator("h1 + .status")).to_have_text("stopped", timeout=10_000)
    assert asked == ["Stop this sweep? No new trials start, and its running trials are cancelled."]
    # the page keeps polling until the trial has ended, without a reload
    expect(page.locator('#leaderboard td [data-status="cancelled"]')).to_have_count(1, timeout=30_000)
    expect(page.locator("#stop-sweep")).to_be_disabled()
    stopped = live_stack.http.get(f"/sweeps/{sweep['id']}").json()
    assert stopped["state"] == "stopped" and stopped["trials"] == {"cancelled": 1, "total": 1}


@pytest.mark.parametrize("link", ["#/sweeps/..%2F..%2Fcatalog", "#/sweeps/..%2Fkeys", "#/sweeps/%2e%2e"])
def test_a_crafted_sweeps_link_fetches_nothing(page: Page, live_stack: Stack, link: str) -> None:
    assert _api_requests_after_opening(page, live_stack, link) == []
    expect(page.locator("#view")).to_contain_text("That link does not name a sweep.")
