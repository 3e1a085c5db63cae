"""A client generated from the live `/openapi.json` by openapi-python-client, a generator nobody here wrote, used
against the real service: submit, follow to the end, read the history as the typed model."""

import importlib
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_training_jobs import DIGITS

pytestmark = pytest.mark.e2e
PACKAGE = "gradyard_generated"
# The generator reads JSON, +json and text/* bodies itself; a picture, a model's bundle and a binary prediction body
# are bytes, which it calls application/octet-stream.
# No post hooks: the generated code is imported, not committed, so it needs no formatting.
GENERATOR_CONFIG = """\
content_type_overrides:
  image/png: application/octet-stream
  image/svg+xml: application/octet-stream
  application/gzip: application/octet-stream
  application/x-npy: application/octet-stream
  application/vnd.apache.arrow.stream: application/octet-stream
post_hooks: []
"""


def generate_client(document: bytes, workdir: Path) -> ModuleType:
    """Generate a client package from this OpenAPI document and import it; any generator warning fails the test."""
    (workdir / "openapi.json").write_bytes(document)
    (workdir / "config.yaml").write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).parent / "openapi-python-client"
    argv = [str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml"]
    argv += ["--meta", "none", "--output-path", PACKAGE, "--fail-on-warning"]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(workdir))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))


@pytest.fixture(scope="module")
def generated(live_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated package, from the document the running API serves."""
    document = httpx.get(f"{live_stack.url}/openapi.json", timeout=10).content
    package = generate_client(document, tmp_path_factory.mktemp("generated"))
    yield package
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_a_generated_client_submits_follows_and_reads_the_history_as_its_model(
    live_stack: Stack, generated: Any
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(
        base_url=live_stack.url, token=live_stack.key, raise_on_unexpected_status=True
    )
    spec = models.JobSpec.from_dict(DIGITS | {"name": "generated-client", "epochs": 3})

    submitted = _api("jobs.submit_job").sync_detailed(client=client, body=spec)
    assert submitted.status_code == 201 and isinstance(submitted.parsed, models.JobOut)
    job_id = submitted.parsed.id
    assert submitted.headers["location"] == f"/jobs/{job_id}"

    deadline = time.monotonic() + 120
    job = submitted.parsed
    while job.status.value not in {"succeeded", "failed", "cancelled"} and time.monotonic() < deadline:
        time.sleep(0.2)
        job = _api("jobs.read_job").sync(job_id, client=client)
    assert isinstance(job, models.JobOut) and job.status == models.JobOutStatus.SUCCEEDED
    assert job.progress.epoch == 3 and [event.status.value for event in job.events][-1] == "succeeded"

    read = _api("metrics.read_metrics").sync_detailed(job_id, client=client)
    history = read.parsed
    assert read.status_code == 200 and isinstance(history, models.MetricsOut), read.content[:200]
    assert history.job_id == job_id and history.status == models.MetricsOutStatus.SUCCEEDED
    assert set(history.metrics.additional_properties) == {
        "train_loss",
        "val_loss",
        "train_accuracy",
        "val_accuracy",
        "val_top5_accuracy",
        "lr",
    }
    val_accuracy = history.metrics["val_accuracy"]
    assert isinstance(val_accuracy, models.SeriesOut) and val_accuracy.epoch == [1, 2, 3]
    assert all(isinstance(step, int) for step in val_accuracy.step) and val_accuracy.step == sorted(val_accuracy.step)
    assert all(isinstance(value, float) and 0.0 <= value <= 1.0 for value in val_accuracy.value)
    assert val_accuracy.value[-1] == job.metrics["val_accuracy"].last
    assert history.metrics["train_loss"].value[-1] < history.metrics["train_loss"].value[0]

    # An ended job's history carries an ETag; sending it back is a 304 the generated client reads as "no body".
    again = _api("metrics.read_metrics").sync_detailed(job_id, client=client, if_none_match=read.headers["etag"])
    assert again.status_code == 304 and again.parsed is None

    # The generator types the route's JSON; CSV comes through the client's own httpx client, as the README says.
    csv = client.get_httpx_client().get(f"/jobs/{job_id}/metrics", params={"format": "csv", "names": "val_accuracy"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "name,step,epoch,value,time" and len(csv.text.splitlines()) == 4

    missing = _api("metrics.read_metrics").sync_detailed("no-such-job", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.parsed.title == "Job not found"


def test_a_generated_client_reads_the_catalog_as_its_model(live_stack: Stack, generated: Any) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=live_stack.url, token=live_stack.key)
    catalog = _api("catalog.read_catalog").sync(client=client)
    assert isinstance(catalog, models.Catalog)
    assert [entry.name for entry in catalog.optimizers][:2] == ["sgd", "adam"]
    adam = catalog.optimizers[1]
    assert isinstance(adam, models.CatalogEntry) and adam.aliases == ["Adam"]
    assert adam.parameters["lr"]["default"] == 0.001
    assert all(isinstance(entry.inputs, list) for entry in catalog.datasets)
