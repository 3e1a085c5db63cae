"""Start a worker process: one Celery worker that owns one device, and the reconciler beside it."""

import os

from celery import Celery

from core.queue import make_celery
from core.settings import get_settings
from worker.reconciler import Reconciler
from worker.tasks import register_tasks
from worker.warm import warm_up


def create_worker_app() -> Celery:
    """The Celery app with the training task registered."""
    app = make_celery(get_settings())
    register_tasks(app)
    return app


def run_worker(*, loglevel: str = "INFO") -> None:
    """Run the worker in this process until it is stopped."""
    app = create_worker_app()
    Reconciler(app, get_settings()).start()
    warm_up()  # in this process, which the solo pool runs every job in: the first job finds CUDA ready
    # The solo pool runs the job in this process: torch stays imported between jobs, SIGTERM reaches the running
    # loop (it checkpoints and hands the job back), and one process owns one device.
    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            "--pool=solo",
            f"--queues={get_settings().queue}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=gradyard-worker-{os.getpid()}@%h",
        ]
    )
