"""The dispatcher: sends a pool's queued jobs to its Celery queue while the pool has free slots, in run order
(core.queue_order), so the broker never holds a backlog it cannot reorder.

Any process may run it (the API right after a submit, a worker right after a job ends, every worker on a timer): a
lease in SQL (core.repository.leases) lets one act at a time, and a process that finds the lease held wakes its
holder for one more pass instead, so no submit waits for the timer. Each send is a compare-and-set on the job's
`dispatched_at`, committed before the message exists: a job is never sent twice, and one whose sender died before
sending is sent again by the reconciler once its message is found missing."""

import logging
import uuid
from datetime import datetime, timedelta

from celery import Celery
from sqlalchemy.orm import Session

from core.db import session_scope
from core.failpoints import DISPATCH_MARKED, DISPATCH_SENT, failpoint
from core.queue import enqueue, queue_for
from core.queue_order import HIGH, run_order
from core.repository import dispatch as sql
from core.repository import leases
from core.settings import Settings
from core.tables import Lease
from core.timeutil import utcnow

log = logging.getLogger(__name__)
LEASE_NAME = "dispatch"


def alive_after(settings: Settings, now: datetime | None = None) -> datetime:
    """Workers seen since this time hold slots."""
    return (now or utcnow()) - timedelta(seconds=settings.worker_timeout_seconds)


def _preempt(session: Session, pool: str, top_priority: int, settings: Settings) -> None:
    """A high job waits in a full pool: ask the lowest-priority running job that ran long enough to hand back."""
    if not settings.preempt or top_priority < HIGH:
        return
    started_before = utcnow() - timedelta(seconds=settings.preempt_min_seconds)
    victim = sql.request_preempt(session, pool=pool, below=HIGH, started_before=started_before)
    if victim is not None:
        log.info("pool %s: job %s asked to hand back its worker to a high-priority job", pool, victim)


def _dispatch_pool(session: Session, pool: str, celery: Celery, settings: Settings) -> list[str]:
    """Send the pool's next jobs into its free slots; the ids sent."""
    now = utcnow()
    (load,) = sql.pool_loads(session, alive_after=alive_after(settings, now), pools=[pool])
    if load.slots == 0 or (load.free == 0 and not settings.preempt):
        return []  # the common case under load: nothing to order
    waiting = sql.waiting_jobs(session, pool=pool)
    if not waiting:
        return []
    half_life = settings.fair_share_half_life_hours * 3600
    usage = sql.usage_by_owner(session, half_life_seconds=half_life, now=now)
    active = sql.active_by_owner(session, pool=pool)
    ordered = run_order(waiting, usage=usage, active=active, now=now, ageing_minutes=settings.ageing_minutes)
    if load.free == 0:
        _preempt(session, pool, waiting_top_priority(ordered), settings)
        return []
    sent = []
    for job, _, _ in ordered[: load.free]:
        at = sql.mark_dispatched(session, job_id=job.id)
        if at is None:
            continue  # cancelled, or another dispatcher's lease lapsed mid-pass and it sent the job
        failpoint(DISPATCH_MARKED)
        try:
            enqueue(celery, job.id, queue=queue_for(settings, pool))
        except Exception:
            sql.undo_dispatch(session, job_id=job.id, at=at)
            raise
        failpoint(DISPATCH_SENT)
        sent.append(job.id)
    return sent


def waiting_top_priority(ordered: list[tuple[sql.Waiting, int, float]]) -> int:
    """The effective priority of the job that runs next (-1: none waits)."""
    return ordered[0][1] if ordered else -1


def _pass(session: Session, celery: Celery, settings: Settings) -> list[str]:
    sent = []
    for pool in sql.pools_waiting(session):
        sent += _dispatch_pool(session, pool, celery, settings)
    return sent


def _hold(session: Session, holder: str, settings: Settings) -> int | None:
    """Take the lease (its wake count), or wake its live holder (None); retried when it lapsed meanwhile."""
    while True:
        wakes = leases.take_named(session, name=LEASE_NAME, holder=holder, until=utcnow() + settings.lease)
        if wakes is not None:
            return wakes
        if leases.wake_holder(session, name=LEASE_NAME):
            return None


def dispatch(*, celery: Celery, settings: Settings) -> list[str]:
    """Run the dispatcher until no wake-up is pending (or leave it to the one running); the job ids it sent.

    A broker error is raised after the job it was sending is put back to waiting."""
    holder = uuid.uuid4().hex
    with session_scope() as session:
        wakes = _hold(session, holder, settings)
        if wakes is None:
            return []
        sent: list[str] = []
        try:
            while True:
                sent += _pass(session, celery, settings)
                if leases.release_named(session, name=LEASE_NAME, holder=holder, wakes=wakes):
                    return sent
                # A wake-up came during the pass: hold on (extending the lease) and run again.
                wakes = leases.take_named(session, name=LEASE_NAME, holder=holder, until=utcnow() + settings.lease)
                if wakes is None:  # the lease lapsed and another took it: that one runs the pass asked for
                    return sent
        except BaseException:
            session.rollback()
            leases.release(session, leases.NAMED, (Lease.name == LEASE_NAME,), holder)
            raise


def dispatch_quietly(*, celery: Celery, settings: Settings) -> list[str]:
    """Dispatch, logging a failure (the periodic pass or the reconciler tries again); the ids sent."""
    try:
        return dispatch(celery=celery, settings=settings)
    except Exception:
        log.exception("dispatch pass failed; the next one tries again")
        return []
