"""Safe by construction, against the real worker: messages are JSON only."""

import time

import pytest

from core.queue import TRAIN_TASK, make_celery
from core.settings import Settings
from tests.e2e.conftest import Stack
from tests.e2e.test_training_jobs import THERMOMETER

pytestmark = pytest.mark.e2e


def test_a_pickled_message_is_refused_and_the_worker_carries_on(stack: Stack) -> None:
    sender = make_celery(Settings(broker_url=stack.env["GRADYARD_BROKER_URL"], queue=stack.env["GRADYARD_QUEUE"]))
    sender.send_task(TRAIN_TASK, args=["pickled-job"], serializer="pickle")
    deadline = time.monotonic() + 30
    while "untrusted content of type pickle" not in (log := (stack.logs / "worker.log").read_text()):
        assert time.monotonic() < deadline, log[-2000:]
        time.sleep(0.1)
    assert "job pickled-job" not in log  # the runner never saw it (it would log "job pickled-job not claimed")
    assert stack.wait(stack.submit(THERMOMETER | {"epochs": 10}))["status"] == "succeeded"
