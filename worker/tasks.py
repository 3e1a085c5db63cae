"""The Celery task that carries a job id to the runner, and the shutdown flag the running job watches."""

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_shutting_down

from core.dispatch import dispatch_quietly
from core.logs import job_context
from core.queue import TRAIN_TASK
from core.settings import get_settings
from core.sweeps.controller import after_trial
from worker.previous_life import Slot
from worker.runner import run_job

log = logging.getLogger(__name__)
# Set on SIGTERM (Celery's warm shutdown): the running job checkpoints and goes back to the queue.
SHUTDOWN = threading.Event()


@worker_shutting_down.connect  # type: ignore[untyped-decorator]
def _on_shutdown(**_: Any) -> None:
    SHUTDOWN.set()


def register_tasks(app: Celery, *, slot: Slot | None = None) -> None:
    """Register the training task on this app under its shared name (with the worker's slot, when it has one)."""

    @app.task(name=TRAIN_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def train_job(job_id: str) -> None:
        """Train one job; everything it produces goes to SQL, not to a result backend."""
        with job_context(job_id):
            run_job(job_id, shutdown=SHUTDOWN, enqueue=lambda _: redispatch(), slot=slot, on_end=job_over)

    def redispatch() -> None:
        dispatch_quietly(celery=app, settings=get_settings())

    def job_over(job_id: str) -> None:
        redispatch()  # this worker's slot is free (or the job went back to the queue): the next job goes now
        sweep_acts(job_id)

    def sweep_acts(job_id: str) -> None:
        try:  # a sweep's trial ended (or went back to the queue): its sweep acts now, not at the next reconcile
            after_trial(job_id, celery=app, settings=get_settings())
        except Exception:  # the reconciler's pass carries the sweep on
            log.exception("job %s: its sweep's controller pass failed", job_id)
