"""Start a worker process: one Celery worker that owns one device, and the reconciler beside it."""

import logging
import os
import sys
from typing import NoReturn

from celery import Celery

from core.dispatch import dispatch_quietly
from core.logs import set_worker
from core.queue import make_celery, queue_for
from core.settings import get_settings
from worker.presence import leave, register, worker_identity
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


def run_worker(*, loglevel: str = "INFO") -> int:
    """Run the worker in this process until it is stopped; its exit code (the `gradyard worker` command then leaves
    with exit_now)."""
    settings = get_settings()
    try:
        slot, left = take_slot(settings.worker_state_dir)
    except OSError as exc:  # the worker still works without one; its lost jobs wait for the reconciler instead
        log.warning("no worker slot (%s): a restarted worker will not hand back its job at once", exc)
        slot, left = None, {}
    worker_id = worker_identity(settings, slot.number if slot is not None else None)
    if slot is not None:
        slot.worker_id = worker_id
    set_worker(worker_id)  # every log line a job causes names it, as GET /workers does
    app = create_worker_app(slot=slot)
    register(settings, worker_id)  # before its previous life's job is requeued: the dispatcher counts its slot
    end_previous_life(app, left)  # before the first job: the slot's last job is not left waiting for a timeout
    Reconciler(app, settings, worker_id=worker_id).start()
    dispatch_quietly(celery=app, settings=settings)  # its slot is new: jobs waiting in its pool are sent now
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
                f"--queues={queue_for(settings, settings.worker_pool)}",  # its pool's queue only
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                # Its identity, not its pid: containers on the host's network share a host name, and each runs its
                # worker as pid 8, so Flower (and Celery's remote control) saw two workers as one.
                f"--hostname=gradyard-worker-{worker_id}@%h",
            ]
        )
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    leave(worker_id)
    return code


def exit_now(code: int) -> NoReturn:
    """End the worker's process without the interpreter's teardown: Celery has finished its shutdown (the job handed
    back, the broker told), and what is left is freeing a heap of torch, SciPy and the exporter object by object,
    which took 4 s of a worker's stop on a 2-core machine. Logs are flushed first; the slot's lock goes with the
    process. Only for the process's entry point (the `gradyard worker` command): it ends whatever process calls it."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
