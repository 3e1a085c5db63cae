"""Start a worker process: one Celery worker that owns one device, and the reconciler beside it."""

import logging
import os
import socket
import sys
from typing import NoReturn

from celery import Celery

from core.logs import set_worker
from core.queue import make_celery
from core.settings import get_settings
from worker.previous_life import Slot, end_previous_life, take_slot
from worker.reconciler import Reconciler
from worker.tasks import register_tasks
from worker.warm import warm_up

log = logging.getLogger(__name__)


def create_worker_app(*, slot: Slot | None = None) -> Celery:
    """The Celery app with the training task registered."""
    app = make_celery(get_settings())
    register_tasks(app, slot=slot)
    return app


def run_worker(*, loglevel: str = "INFO") -> None:
    """Run the worker in this process until it is stopped."""
    try:
        slot, left = take_slot(get_settings().worker_state_dir)
    except OSError as exc:  # the worker still works without one; its lost jobs wait for the reconciler instead
        log.warning("no worker slot (%s): a restarted worker will not hand back its job at once", exc)
        slot, left = None, {}
    name = f"gradyard-worker-{os.getpid()}@{socket.gethostname()}"  # Celery's --hostname below, spelled out
    set_worker(name)
    app = create_worker_app(slot=slot)
    end_previous_life(app, left)  # before the first job: the slot's last job is not left waiting for a timeout
    Reconciler(app, get_settings()).start()
    warm_up()  # in this process, which the solo pool runs every job in: the first job finds CUDA ready
    # The solo pool runs the job in this process: torch stays imported between jobs, SIGTERM reaches the running
    # loop (it checkpoints and hands the job back), and one process owns one device.
    code = 0
    try:
        app.worker_main(
            [
                "worker",
                f"--loglevel={loglevel}",
                "--pool=solo",
                f"--queues={get_settings().queue}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname={name}",
            ]
        )
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    exit_now(code)


def exit_now(code: int) -> NoReturn:
    """Leave without the interpreter's teardown: Celery has finished its shutdown (the job handed back, the broker
    told), and what is left is freeing a heap of torch, SciPy and the exporter object by object, which took 4 s of a
    worker's stop on a 2-core machine. Logs are flushed first; the slot's lock goes with the process."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
