"""The dashboard in headless Chromium (Debian's, driven by Playwright) against the real service.

Each view is saved as a screenshot under test-artifacts/dashboard/ for a person to look at.
"""

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import Stack
from tests.e2e.test_training_jobs import DIGITS, LONG

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; the suite downloads no browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser, live_stack: Stack, *, key: str | None) -> Iterator[Page]:
    """A page on the live stack in a fresh browser context (its own localStorage); page errors fail the test."""
    context = browser.new_context(base_url=live_stack.url, viewport={"width": 1280, "height": 860})
    if key is not None:  # as if the user had pasted it once before
        context.add_init_script(f"localStorage.setItem('gradyard.key', {key!r})")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Every view runs under the dashboard's Content-Security-Policy: a refused style or script is a failure too.
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield page
    context.close()
    assert errors == []


@pytest.fixture
def page(browser: Browser, live_stack: Stack) -> Iterator[Page]:
    """A page whose browser already holds the stack's key."""
    yield from new_page(browser, live_stack, key=live_stack.key)


@pytest.fixture
def keyless_page(browser: Browser, live_stack: Stack) -> Iterator[Page]:
    """A page in a browser that has never been given a key."""
    yield from new_page(browser, live_stack, key=None)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def points(page: Page, selector: str) -> int:
    return int(page.locator(selector).get_attribute("data-points") or 0)


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true after {timeout}s")


def test_the_jobs_table_shows_each_job_and_updates_itself(page: Page, live_stack: Stack) -> None:
    done = live_stack.wait(live_stack.submit(DIGITS | {"name": "table-adam", "epochs": 3}))
    page.goto("/")
    row = page.locator(f'tr[data-job-id="{done["id"]}"]')
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert cells[1:7] == ["table-adam", "succeeded", "digits", "mlp", "cross_entropy", "adam"]
    best = done["metrics"]["val_accuracy"]["best"]
    assert cells[7] == f"{best:.4g} val acc" and cells[8].endswith("3/3")
    later = live_stack.submit(DIGITS | {"name": "table-later", "epochs": 2})  # no reload: the table refreshes
    expect(page.locator(f'tr[data-job-id="{later}"] td').nth(1)).to_have_text("table-later", timeout=10_000)
    live_stack.wait(later)
    screenshot(page, "jobs.png")


# Enough epochs that the chart is seen growing on a quiet machine too (digits takes a few seconds for these).
FORM_EPOCHS = 300


def test_submit_through_the_form_shows_the_api_errors_then_the_job_training(page: Page, live_stack: Stack) -> None:
    page.goto("/#/submit")
    page.select_option("#f-dataset", "digits")
    page.select_option("#f-model", "mlp")
    page.select_option("#f-loss", "bce_with_logits")
    page.select_option("#f-optimizer", "adam")
    page.click("#submit-job")
    loss_error = page.locator('fieldset[data-loc="loss"] .field-error').first
    expect(loss_error).to_contain_text("loss 'bce_with_logits' needs two classes or multi-label targets")
    page.select_option("#f-loss", "cross_entropy")
    page.fill("#f-optimizer-lr", "50")
    page.fill("#f-epochs", "0")
    page.click("#submit-job")
    expect(page.locator('[data-loc="optimizer.lr"] .field-error')).to_have_text(
        "Input should be less than or equal to 10"
    )
    expect(page.locator('[data-loc="epochs"] .field-error')).to_have_text("Input should be greater than or equal to 1")
    screenshot(page, "submit-errors.png")

    page.fill("#f-optimizer-lr", "0.001")
    page.fill("#f-epochs", str(FORM_EPOCHS))
    page.fill("#f-name", "form-digits")
    page.click("#submit-job")
    page.wait_for_url("**/#/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    chart = '.chart[data-panel="Loss"]'
    counts = [wait_until(lambda: points(page, chart) if page.locator(chart).count() else 0)]
    while live_stack.job(job_id)["status"] != "succeeded" and len(set(counts)) < 2:
        counts.append(points(page, chart))
        time.sleep(0.2)
    assert len(set(counts)) >= 2 and counts == sorted(counts), counts  # the chart gained points while it trained
    job = live_stack.wait(job_id)
    assert job["name"] == "form-digits" and job["spec"]["optimizer"]["lr"] == 0.001
    expect(page.locator("h1 + .status")).to_have_text("succeeded", timeout=10_000)
    wait_until(lambda: points(page, chart) == 2 * FORM_EPOCHS)  # train_loss and val_loss, every epoch
    page.check("#log-scale")
    assert page.locator(chart).get_attribute("data-log") == "true" and points(page, chart) == 2 * FORM_EPOCHS
    screenshot(page, "job.png")


def test_cancel_a_running_job_from_its_page(page: Page, live_stack: Stack) -> None:
    job_id = live_stack.submit(LONG)
    live_stack.wait(job_id, {"running"})
    page.goto(f"/#/jobs/{job_id}")
    expect(page.locator("h1 + .status")).to_have_text("running", timeout=10_000)
    page.click("#cancel-job")
    expect(page.locator("h1 + .status")).to_have_text("cancelled", timeout=15_000)
    assert live_stack.job(job_id)["status"] == "cancelled"
    expect(page.locator("#cancel-job")).to_be_disabled()
    expect(page.locator("#state-log li").last).to_contain_text("cancelled")
    expect(page.locator("#state-log li", has_text="cancel requested")).to_contain_text("by e2e")  # the key's user
    screenshot(page, "job-cancelled.png")


def test_compare_sgd_and_adam_on_one_chart(page: Page, live_stack: Stack) -> None:
    sgd = live_stack.submit(DIGITS | {"name": "cmp-sgd", "optimizer": {"name": "sgd", "lr": 0.01}, "epochs": 10})
    adam = live_stack.submit(DIGITS | {"name": "cmp-adam", "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 10})
    live_stack.wait(sgd), live_stack.wait(adam)
    page.goto("/")
    for job_id in (sgd, adam):
        page.check(f'tr[data-job-id="{job_id}"] input[type=checkbox]')
    page.click("text=Compare selected")
    page.wait_for_url("**/#/compare?jobs=*")
    wait_until(lambda: points(page, "#compare-chart") == 20)  # val_loss of both, 10 epochs each
    assert page.locator("#compare-metric").input_value() == "val_loss"
    legend = page.locator("#compare-chart .u-legend").inner_text()
    assert f"cmp-sgd ({sgd[:8]})" in legend and f"cmp-adam ({adam[:8]})" in legend
    page.select_option("#compare-metric", "val_accuracy")
    wait_until(
        lambda: (
            page.locator("#compare-chart h3").inner_text() == "val_accuracy" and points(page, "#compare-chart") == 20
        )
    )
    assert page.url.endswith("metric=val_accuracy")
    screenshot(page, "compare.png")


def test_compare_grows_a_running_jobs_curve_in_place(page: Page, live_stack: Stack) -> None:
    done = live_stack.submit(DIGITS | {"name": "cmp-done", "epochs": 3})
    live_stack.wait(done)
    running = live_stack.submit(DIGITS | {"name": "cmp-running", "epochs": 400})
    try:
        live_stack.wait(running, {"running"})
        page.goto(f"/#/compare?jobs={done},{running}&metric=val_loss")
        first = wait_until(lambda: points(page, "#compare-chart") > 3 and points(page, "#compare-chart"))
        page.evaluate("window.firstCanvas = document.querySelector('#compare-chart canvas')")
        wait_until(lambda: points(page, "#compare-chart") > first + 2, timeout=60)
        # The same chart, grown: the canvas was not built again.
        assert page.evaluate("document.querySelector('#compare-chart canvas') === window.firstCanvas")
    finally:
        live_stack.http.post(f"/jobs/{running}/cancel")
        live_stack.wait(running)


def test_without_a_key_the_dashboard_asks_for_one_then_sends_it(keyless_page: Page, live_stack: Stack) -> None:
    page = keyless_page
    page.goto("/")
    expect(page.locator("#banner")).to_contain_text("This server needs an API key")
    expect(page.locator("#jobs-table + p, .scroll + p")).to_contain_text("Cannot list jobs: this route needs")
    screenshot(page, "no-key.png")
    page.fill("#key-input", live_stack.key)
    with page.expect_request(lambda request: "/jobs?" in request.url) as listed:
        page.click("#key-form button")
    assert listed.value.all_headers().get("authorization") == f"Bearer {live_stack.key}"
    expect(page.locator("#banner")).to_be_hidden()
    expect(page.locator("#jobs-table tbody tr").first).to_be_visible()
    with page.expect_request(lambda request: "/jobs?" in request.url) as again:
        page.reload()  # the key is kept in localStorage across loads
    assert again.value.all_headers().get("authorization") == f"Bearer {live_stack.key}"
    assert page.locator("#key-input").input_value() == live_stack.key


def _api_requests_after_opening(page: Page, live_stack: Stack, link: str) -> list[str]:
    """The paths of the API requests the page makes once it has opened this link (its own files left out)."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url.removeprefix(live_stack.url)))
    page.goto("/" + link)
    page.wait_for_load_state("networkidle")
    return [path for path in sent if path.startswith("/") and not path.startswith(("/static/", "/#")) and path != "/"]


@pytest.mark.parametrize(
    "link",
    ["#/jobs/..%2F..%2Fcatalog", "#/jobs/..%2Fkeys", "#/jobs/%2e%2e", "#/compare?jobs=..%2F..%2Fcatalog,x/y&metric=lr"],
)
def test_a_crafted_link_never_sends_the_key_elsewhere(page: Page, live_stack: Stack, link: str) -> None:
    keyed = _api_requests_after_opening(page, live_stack, link)
    # A job link fetches nothing; the compare page only its list of jobs (the bad ids dropped).
    assert all(path.startswith("/jobs?") for path in keyed), keyed
    if link.startswith("#/jobs/"):
        expect(page.locator("#view")).to_contain_text("That link does not name a job.")


@pytest.mark.parametrize(("path", "title"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_the_api_docs_render_with_no_internet(browser: Browser, live_stack: Stack, path: str, title: str) -> None:
    context = browser.new_context(base_url=live_stack.url)
    page = context.new_page()
    outside: list[str] = []
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)

    def only_local(route: Any) -> None:
        if route.request.url.startswith((live_stack.url, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(path)
    expect(page.locator(title).first).to_contain_text("gradyard", timeout=20_000)
    context.close()
    assert outside == []
    # ReDoc's "powered by" logo is the one thing it would fetch from its CDN: the CSP stops it (the logo hides itself).
    assert [text for text in refused if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in text] == []


def table_csv(rows: int, *, gaps: int = 0, tag: str = "") -> bytes:
    """A small binary-classification table; `gaps` empty x2 cells; `tag` makes the bytes (and so the upload) new."""
    lines = ["x1,x2,colour,label"]
    for i in range(rows):
        x2 = "" if i < gaps else str((i * 7) % 10)
        lines.append(f"{i / 4}{tag},{x2},{['red', 'green', 'blue'][i % 3]},{'yes' if i % 2 else 'no'}")
    return ("\n".join(lines) + "\n").encode()


def test_upload_a_csv_with_progress_then_read_its_schema(page: Page, live_stack: Stack) -> None:
    page.goto("/#/datasets")
    expect(page.locator("nav a.active")).to_have_text("Datasets")
    page.set_input_files("#upload-file", files=[{"name": "header.csv", "mimeType": "text/csv", "buffer": b"a,b\n"}])
    page.click("#upload-submit")  # refused: the API's reason is shown, naming the file
    expect(page.locator("#upload-problem")).to_contain_text("header.csv", timeout=20_000)
    name = f"readings-{time.time_ns()}.csv"
    page.set_input_files(
        "#upload-file", files=[{"name": name, "mimeType": "text/csv", "buffer": table_csv(40, gaps=2)}]
    )
    with page.expect_request(lambda request: request.method == "POST" and request.url.endswith("/datasets")) as sent:
        page.click("#upload-submit")
    assert sent.value.all_headers().get("authorization") == f"Bearer {live_stack.key}"
    expect(page.locator("#upload-state")).to_have_text(f"stored: {name}, 40 rows", timeout=20_000)
    expect(page.locator("#upload-problem")).to_have_text("")  # the earlier refusal is cleared
    assert page.locator("#upload-progress").get_attribute("data-percent") == "100"
    (dataset,) = [d for d in live_stack.http.get("/datasets").json()["items"] if d["name"] == name]
    row = page.locator(f'tr[data-dataset-id="{dataset["id"]}"]')
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert cells[:5] == [name, "csv", "40", "binary_classification", "label"], cells
    screenshot(page, "datasets.png")

    row.locator("a").click()
    page.wait_for_url(f"**/#/datasets/{dataset['id']}")
    expect(page.locator("#dataset-columns tbody tr")).to_have_count(4)
    columns = [
        [text.strip() for text in tr.locator("td").all_inner_texts()][:4]
        for tr in page.locator("#dataset-columns tbody tr").all()
    ]
    assert columns == [
        ["x1", "number", "0", "feature"],
        ["x2", "number", "2", "feature"],  # the two empty cells, counted
        ["colour", "category", "0", "feature"],
        ["label", "category", "0", "target"],
    ]
    expect(page.locator("#dataset-classes")).to_have_text("no, yes")
    expect(page.locator('[data-fact="rows"]')).to_have_text("40")
    expect(page.locator("#dataset-preview tbody tr")).to_have_count(10)
    first = [text.strip() for text in page.locator("#dataset-preview tbody tr").first.locator("td").all_inner_texts()]
    assert first == ["0", "\u2013", "red", "no"]  # the first row, its missing x2 shown as a dash
    screenshot(page, "dataset.png")
    page.click("text=Train on it")  # the submit form starts on this dataset
    expect(page.locator("#f-dataset")).to_have_value("upload")
    expect(page.locator("#f-dataset-id")).to_have_value(dataset["id"])


def test_train_on_an_upload_chosen_in_the_submit_form(page: Page, live_stack: Stack) -> None:
    name = f"form-table-{time.time_ns()}.csv"
    uploaded = live_stack.http.post("/datasets", files={"file": (name, table_csv(60), "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    page.goto("/#/submit")
    page.select_option("#f-dataset", "upload")
    page.select_option("#f-dataset-id", label=name)  # by its name; the id is what is sent
    expect(page.locator("#f-dataset-target option")).to_have_text(
        ["default (label)", "x1 (number)", "x2 (number)", "colour (category)", "label (category)"]
    )
    page.select_option("#f-dataset-target", "label")
    page.fill("#f-dataset-val_fraction", "0.25")
    page.select_option("#f-model", "mlp")
    page.select_option("#f-loss", "cross_entropy")
    page.select_option("#f-optimizer", "adam")
    page.fill("#f-epochs", "5")
    page.fill("#f-name", "form-upload")
    page.click("#submit-job")
    page.wait_for_url("**/#/jobs/*")
    job = live_stack.wait(page.url.rsplit("/", 1)[1])
    assert job["status"] == "succeeded", job.get("error")
    dataset = job["spec"]["dataset"]
    assert (dataset["id"], dataset["target"], dataset["val_fraction"]) == (uploaded.json()["id"], "label", 0.25)
    assert dataset["resolved"]["rows"] == 60 and dataset["resolved"]["classes"] == ["no", "yes"]
    expect(page.locator("h1 + .status")).to_have_text("succeeded", timeout=10_000)


@pytest.mark.parametrize("link", ["#/datasets/..%2F..%2Fcatalog", "#/datasets/..%2Fkeys", "#/datasets/%2e%2e"])
def test_a_crafted_datasets_link_fetches_nothing(page: Page, live_stack: Stack, link: str) -> None:
    assert _api_requests_after_opening(page, live_stack, link) == []
    expect(page.locator("#view")).to_contain_text("That link does not name a dataset.")


def test_a_succeeded_job_page_offers_its_model_and_a_rerun_form_filled_in(page: Page, live_stack: Stack) -> None:
    done = live_stack.wait(live_stack.submit(DIGITS | {"name": "model-page", "epochs": 2, "seed": 7}))
    page.goto(f"/#/jobs/{done['id']}")
    expect(page.locator("#model-state .status")).to_have_text("ready", timeout=60_000)  # after the export
    expect(page.locator("#model-check")).to_contain_text("ONNX checked against torch")
    with page.expect_download() as download:
        page.click("#download-onnx")
    assert download.value.suggested_filename == f"{done['id'][:8]}.onnx"
    screenshot(page, "job-model.png")

    page.click("#rerun-job")
    expect(page.locator("h1")).to_have_text("Rerun a job")
    expect(page.locator("#f-optimizer")).to_have_value("adam")
    expect(page.locator("#f-seed")).to_have_value("7")
    page.fill("#f-epochs", "3")
    page.click("#submit-job")
    page.wait_for_url("**/#/jobs/*")
    rerun = live_stack.job(page.url.rsplit("/", 1)[1])
    assert rerun["rerun_of"] == done["id"] and rerun["name"] == "model-page"
    assert rerun["spec"] | {"epochs": 2} == done["spec"]  # the same spec but for the one change
