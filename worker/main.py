"""Start a worker process: one Celery worker, concurrency 1, that owns one device."""

from celery import Celery

from core.queue import make_celery
from core.settings import get_settings
from worker.tasks import register_tasks


def create_worker_app() -> Celery:
    """The Celery app with the training task registered."""
    app = make_celery(get_settings())
    register_tasks(app)
    return app


def run_worker(*, loglevel: str = "INFO") -> None:
    """Run the worker in this process until it is stopped."""
    app = create_worker_app()
    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            "--concurrency=1",
            "--pool=prefork",
            f"--queues={get_settings().queue}",
            "--without-gossip",
            "--without-mingle",
            "--hostname=gradyard-worker@%h",
        ]
    )
