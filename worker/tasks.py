"""The Celery task that carries a job id to the runner."""

from celery import Celery

from core.queue import TRAIN_TASK
from worker.runner import run_job


def register_tasks(app: Celery) -> None:
    """Register the training task on this app under its shared name."""

    @app.task(name=TRAIN_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def train_job(job_id: str) -> None:
        """Train one job; everything it produces goes to SQL, not to a result backend."""
        run_job(job_id)
