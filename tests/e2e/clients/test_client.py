"""The Python client against the real service: submit, wait, metrics (columns and DataFrame), plot, cancel, errors."""

import pytest

from client import ApiError, Client, Unreachable
from tests.e2e.conftest import Stack, free_port
from tests.e2e.test_training_jobs import DIGITS, LONG

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(live_stack: Stack) -> Client:
    """A client of the live stack (its URL and key given as the arguments, as a user would)."""
    return Client(live_stack.url, live_stack.key)


def test_submit_wait_and_read_the_history_as_columns_and_as_a_frame(client: Client) -> None:
    job = client.wait(client.submit(DIGITS | {"epochs": 5})["id"], poll_seconds=0.2, timeout=120)
    assert job["status"] == "succeeded" and job["progress"]["epoch"] == 5
    columns = client.metrics(job["id"])
    assert set(columns) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_top5_accuracy", "lr"}
    assert columns["val_accuracy"]["epoch"] == [1, 2, 3, 4, 5]
    frame = client.metrics(job["id"], names=["train_loss", "val_accuracy"], as_frame=True)
    assert list(frame.columns) == ["epoch", "time", "train_loss", "val_accuracy"]
    assert frame.index.name == "step" and list(frame["epoch"]) == [1, 2, 3, 4, 5]
    assert frame["val_accuracy"].iloc[-1] == job["metrics"]["val_accuracy"]["last"]


def test_plot_and_catalog(client: Client) -> None:
    job = client.wait(client.submit(DIGITS | {"epochs": 2})["id"], poll_seconds=0.2, timeout=120)
    assert client.plot(job["id"]).startswith(b"\x89PNG")
    assert client.plot(job["id"], names=["lr"], fmt="svg").lstrip().startswith(b"<?xml")
    other = client.submit(DIGITS | {"epochs": 1})["id"]
    assert client.compare_plot([job["id"], other], metric="val_loss").startswith(b"\x89PNG")
    catalog = client.catalog()
    assert [entry["name"] for entry in catalog["optimizers"]][:2] == ["sgd", "adam"]


def test_cancel_and_the_list_of_jobs(client: Client) -> None:
    job_id = client.submit(LONG)["id"]
    assert client.cancel(job_id)["cancel_requested"] is True
    assert client.wait(job_id, poll_seconds=0.2, timeout=60)["status"] == "cancelled"
    assert job_id in [job["id"] for job in client.jobs(status="cancelled")]


def test_refusals_carry_the_problem(client: Client) -> None:
    with pytest.raises(ApiError) as refused:
        client.submit(DIGITS | {"loss": "bce_with_logits"})
    assert refused.value.status == 422 and refused.value.title == "Spec cannot train"
    assert refused.value.field_messages()[0].startswith(
        "loss: loss 'bce_with_logits' needs two classes or multi-label targets"
    )
    with pytest.raises(ApiError, match="404 Job not found: no job has id 'nope'"):
        client.get("nope")


def test_without_a_key_the_server_says_so(live_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADYARD_CONFIG", "/nonexistent/config.toml")
    monkeypatch.delenv("GRADYARD_KEY", raising=False)
    with pytest.raises(ApiError) as refused:
        Client(live_stack.url).jobs()
    assert refused.value.status == 401
    assert refused.value.detail.startswith("this route needs 'Authorization: Bearer <key>'")


def test_an_unreachable_server_is_reported_as_such() -> None:
    with pytest.raises(Unreachable, match=r"no answer from http://127\.0\.0\.1:\d+"):
        Client(f"http://127.0.0.1:{free_port()}", timeout=2).jobs()
