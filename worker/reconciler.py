"""The reconciler: every worker runs one on a timer. It requeues jobs whose worker went silent (or fails them once
they used up their restarts), sends again jobs left queued with no message, and marks unavailable the models whose
export outlived any export (their worker died while writing them). Every change is a compare-and-set, so any number
of reconcilers can run at once; a job is sent only after its row is committed."""

import logging
import threading
import time
from datetime import timedelta

from celery import Celery
from sqlalchemy.exc import OperationalError

from core import repository
from core.db import session_scope
from core.dispatch import dispatch_quietly
from core.queue import enqueue, queue_for
from core.settings import Settings
from core.sweeps.controller import run_all
from core.timeutil import utcnow
from worker.broker_peek import jobs_with_messages
from worker.presence import beat
from worker.previous_life import LOST_EXPORT
from worker.retention import job_ended

log = logging.getLogger(__name__)
# A model export takes seconds (resnet18's about 5 s on 2 CPU cores; see benchmarks/bench_export.py): one still
# running this long after its job ended has lost its worker. A restarted worker finds its own lost export at once
# (worker.previous_life); this bound covers a worker that never comes back.
LOST_EXPORT_SECONDS = 1800.0


class Reconciler:
    """Heals the job table against lost workers and lost messages."""

    def __init__(self, app: Celery, settings: Settings, *, worker_id: str | None = None) -> None:
        self.app = app
        self.settings = settings
        self.worker_id = worker_id  # beaten on each tick, when the reconciler runs in a worker
        # After a database outage, heartbeats could not be written either: workers get one timeout to catch up.
        self._trust_heartbeats_after = time.monotonic()

    def requeue_lost(self) -> list[str]:
        """Requeue (or fail) running jobs whose heartbeat is older than the timeout; the ids requeued."""
        if time.monotonic() < self._trust_heartbeats_after:
            return []
        cutoff = utcnow() - timedelta(seconds=self.settings.heartbeat_timeout_seconds)
        requeued = []
        with session_scope() as session:
            lost = repository.stale_running(session, cutoff=cutoff)
        for job in lost:
            with session_scope() as session:
                status = repository.requeue_lost(session, job=job, cutoff=cutoff)
            if status is not None:
                log.warning("job %s lost its worker (attempt %s): now %s", job.id, job.attempt, status)
            if status == "queued":
                requeued.append(job.id)
            elif status == "failed":
                job_ended(job.id)  # out of restarts: its checkpoints go as any ended job's do
        if requeued:  # after the commits above: the dispatcher sends them when their pools have free slots
            dispatch_quietly(celery=self.app, settings=self.settings)
        return requeued

    def abandon_lost_exports(self, *, older_than: float = LOST_EXPORT_SECONDS) -> list[str]:
        """Mark unavailable the models still `exporting` this long after their job ended; the job ids."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        with session_scope() as session:
            lost = repository.abandon_stale_exports(session, finished_before=cutoff, detail=LOST_EXPORT)
        for job_id in lost:
            log.warning("job %s: its model export outlived any export; the model is unavailable", job_id)
        return lost

    def resend_orphans(self) -> list[str]:
        """Send again the jobs sent longer than the grace period ago whose message the broker no longer has."""
        before = utcnow() - timedelta(seconds=self.settings.queued_grace_seconds)
        with session_scope() as session:
            waiting = repository.queued_since(session, before=before)
        if not waiting:
            return []
        queues = sorted({queue_for(self.settings, job.pool) for job in waiting})
        live = jobs_with_messages(self.app, queues=queues, job_ids=[job.id for job in waiting])
        resent = []
        for job in waiting:
            if job.id in live:
                continue
            with session_scope() as session:
                won = repository.touch_enqueued(session, job=job)
            if won:
                log.warning("job %s was queued with no message in the broker: sent again", job.id)
                enqueue(self.app, job.id, queue=queue_for(self.settings, job.pool))
                resent.append(job.id)
        return resent

    def run_once(self) -> None:
        """One pass; a database or broker outage is logged and waited out."""
        try:
            self.requeue_lost()
            self.resend_orphans()
            self.abandon_lost_exports()
            run_all(celery=self.app, settings=self.settings)  # sweeps: the catch-all for a controller that died
        except OperationalError as exc:
            log.warning("reconciler: database unreachable: %s", exc.orig)
            # Heartbeats could not be written either: give workers two timeouts to write again after it returns.
            self._trust_heartbeats_after = time.monotonic() + 2 * self.settings.heartbeat_timeout_seconds
        except Exception:  # the broker or anything else: the next pass tries again
            log.exception("reconciler pass failed")

    def tick(self) -> None:
        """The frequent part: say the worker lives, and run the dispatcher (the catch-all for a missed wake-up)."""
        if self.worker_id is not None:
            beat(self.worker_id)
        dispatch_quietly(celery=self.app, settings=self.settings)

    def start(self) -> threading.Thread:
        """Run ticks and, less often, passes on a timer in a daemon thread."""
        every = min(self.settings.worker_beat_seconds, self.settings.dispatch_interval_seconds)

        def loop() -> None:
            next_pass = time.monotonic() + self.settings.reconcile_interval_seconds
            while True:
                time.sleep(every)
                self.tick()
                if time.monotonic() >= next_pass:
                    self.run_once()
                    next_pass = time.monotonic() + self.settings.reconcile_interval_seconds

        thread = threading.Thread(target=loop, name="reconciler", daemon=True)
        thread.start()
        return thread
