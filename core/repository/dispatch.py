"""What the dispatcher reads and changes: a pool's slots and load, its waiting jobs with their owners' fair share,
the compare-and-set that marks a job sent, and the one that asks a running job to make room (preemption)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, extract, func, literal, or_, select, update
from sqlalchemy.orm import Session

from core.repository.events import log_event
from core.tables import AppUser, Job, Worker
from core.timeutil import utcnow


@dataclass(frozen=True)
class PoolLoad:
    """A pool now: its live workers (slots), jobs sent or running there (busy), and the workers that ever joined."""

    pool: str
    slots: int
    busy: int
    registered: int

    @property
    def known(self) -> bool:
        """Whether any worker ever joined the pool."""
        return self.registered > 0

    @property
    def free(self) -> int:
        """Slots no job holds."""
        return max(0, self.slots - self.busy)


@dataclass(frozen=True)
class Waiting:
    """A queued job the dispatcher may send: its owner, priority rank and when it entered the queue."""

    id: str
    owner_id: str | None
    priority: int
    enqueued_at: datetime
    created_at: datetime
    dispatched_at: datetime | None


def _live(alive_after: datetime) -> ColumnElement[bool]:
    return and_(Worker.left_at.is_(None), Worker.last_seen_at >= alive_after)


def _holding_slot() -> ColumnElement[bool]:
    """A job that holds (or is about to hold) a worker of its pool: running, or sent and not yet claimed."""
    return or_(Job.status == "running", and_(Job.status == "queued", Job.dispatched_at.is_not(None)))


def pool_loads(session: Session, *, alive_after: datetime, pools: Sequence[str] | None = None) -> list[PoolLoad]:
    """Each pool that has workers or active jobs (or each of `pools`), with its slots and load, by name."""
    workers = select(Worker.pool, func.count(), func.sum(case((_live(alive_after), 1), else_=0))).group_by(Worker.pool)
    jobs = select(Job.pool, func.sum(case((_holding_slot(), 1), else_=0))).where(Job.status.in_(("queued", "running")))
    if pools is not None:
        workers = workers.where(Worker.pool.in_(pools))
        jobs = jobs.where(Job.pool.in_(pools))
    seen = {pool: (int(live or 0), int(n)) for pool, n, live in session.execute(workers)}
    busy = {pool: int(n or 0) for pool, n in session.execute(jobs.group_by(Job.pool))}
    names = sorted(set(seen) | set(busy) | set(pools or ()))
    return [PoolLoad(name, seen.get(name, (0, 0))[0], busy.get(name, 0), seen.get(name, (0, 0))[1]) for name in names]


def counts_by_pool(session: Session) -> dict[str, dict[str, int]]:
    """Each pool's running and queued jobs."""
    query = select(Job.pool, Job.status, func.count()).where(Job.status.in_(("queued", "running")))
    counts: dict[str, dict[str, int]] = {}
    for pool, status, n in session.execute(query.group_by(Job.pool, Job.status)):
        counts.setdefault(pool, {"queued": 0, "running": 0})[status] = int(n)
    return counts


def names_of(session: Session, *, job_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Each job's name and its owner's user name."""
    if not job_ids:
        return {}
    query = select(Job.id, Job.name, AppUser.name).outerjoin(AppUser, AppUser.id == Job.owner_id)
    return {i: (n, o) for i, n, o in session.execute(query.where(Job.id.in_(job_ids)))}


def pools_waiting(session: Session) -> list[str]:
    """The pools with queued jobs not yet sent."""
    query = select(Job.pool).distinct().where(Job.status == "queued", Job.dispatched_at.is_(None))
    return sorted(session.scalars(query))


def waiting_jobs(session: Session, *, pool: str, include_sent: bool = False) -> list[Waiting]:
    """The pool's queued jobs not yet sent (with `include_sent`, the sent ones too), oldest first."""
    query = select(Job.id, Job.owner_id, Job.priority, Job.enqueued_at, Job.created_at, Job.dispatched_at).where(
        Job.pool == pool, Job.status == "queued", Job.cancel_requested.is_(False)
    )
    if not include_sent:
        query = query.where(Job.dispatched_at.is_(None))
    rows = session.execute(query.order_by(Job.created_at, Job.id))
    return [Waiting(i, o, p, e or c, c, d) for i, o, p, e, c, d in rows]


def _epoch(session: Session, column: Any) -> Any:
    """Seconds since 1970 of a timestamp column, in this database's own functions."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", column), Float)
    return (func.julianday(column) - 2440587.5) * 86400.0  # SQLite stores UTC text


def usage_by_owner(session: Session, *, half_life_seconds: float, now: datetime | None = None) -> dict[str, float]:
    """Each owner's worker-seconds, decayed: a second run `a` seconds ago counts 2^(-a/half_life). A job's run is
    its latest attempt's, from its start to its end (or now while it runs); summed in SQL."""
    now = now or utcnow()
    now_s = now.timestamp()
    rate = math.log(2) / half_life_seconds
    end = case(
        (Job.status == "running", literal(now_s, Float)),
        else_=_epoch(session, func.coalesce(Job.finished_at, Job.heartbeat_at)),
    )
    start = _epoch(session, Job.started_at)
    # The integral of 2^(-(now - t)/h) over [start, end]: exact, so a long job counts what it used, where it used it.
    decayed = (func.exp(-rate * (now_s - end)) - func.exp(-rate * (now_s - start))) / rate
    horizon = now - timedelta(seconds=10 * half_life_seconds)  # older runs weigh under 0.1%
    query = (
        select(Job.owner_id, func.sum(decayed))
        .where(Job.owner_id.is_not(None), Job.started_at.is_not(None))
        .where(or_(Job.status == "running", func.coalesce(Job.finished_at, Job.heartbeat_at) >= horizon))
        .group_by(Job.owner_id)
    )
    return {str(owner): max(0.0, float(used or 0.0)) for owner, used in session.execute(query)}


def active_by_owner(session: Session, *, pool: str) -> dict[str, int]:
    """Each owner's jobs that hold a slot of the pool now."""
    query = select(Job.owner_id, func.count()).where(Job.pool == pool, _holding_slot(), Job.owner_id.is_not(None))
    return {str(owner): int(n) for owner, n in session.execute(query.group_by(Job.owner_id))}


def mark_dispatched(session: Session, *, job_id: str) -> datetime | None:
    """Mark a waiting job sent, if no other dispatcher did (compare-and-set); committed; the time, or None."""
    now = utcnow()
    won = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.dispatched_at.is_(None), Job.cancel_requested.is_(False))
        .values(dispatched_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    return now if won else None


def undo_dispatch(session: Session, *, job_id: str, at: datetime) -> None:
    """Put a job whose message could not be sent back to waiting (only if still as this dispatcher left it)."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued", Job.dispatched_at == at).values(dispatched_at=None)
    )
    session.commit()


def set_priority(session: Session, *, job: Job, name: str, rank: int, actor: str | None) -> bool:
    """Change a queued job's priority, in its rank and its resolved spec (compare-and-set on its status and its
    spec as read); False when it is no longer queued."""
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "queued", Job.attempt == job.attempt)
        .values(priority=rank, spec={**job.spec, "priority": name})
    ).rowcount  # type: ignore[attr-defined]
    if changed:
        detail = f"priority set to {name}"
        log_event(session, job_id=job.id, status="queued", attempt=job.attempt, detail=detail, actor=actor)
    return bool(changed)


def request_preempt(session: Session, *, pool: str, below: int, started_before: datetime) -> str | None:
    """Flag for hand-back the lowest-priority job running in the pool below `below` that started before the time
    (the latest started among equals: it loses the least), unless one there is already flagged; its id, or None."""
    flagged = select(Job.id).where(Job.pool == pool, Job.status == "running", Job.preempt_requested.is_(True))
    if session.scalar(flagged.limit(1)) is not None:
        return None  # one hand-back at a time: the first frees the slot the high job needs
    victim = session.execute(
        select(Job.id, Job.attempt)
        .where(Job.pool == pool, Job.status == "running", Job.priority < below, Job.started_at <= started_before)
        .where(Job.cancel_requested.is_(False))
        .order_by(Job.priority, Job.started_at.desc())
        .limit(1)
    ).one_or_none()
    if victim is None:
        return None
    job_id, attempt = victim
    won = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == "running", Job.preempt_requested.is_(False))
        .values(preempt_requested=True)
    ).rowcount  # type: ignore[attr-defined]
    if won:
        detail = "preempt requested: a high-priority job waits for this pool"
        log_event(session, job_id=job_id, status="running", attempt=attempt, detail=detail)
    session.commit()
    return str(job_id) if won else None
