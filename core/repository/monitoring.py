"""What operators watch, read from the job rows at scrape time: one snapshot per scrape, the same from every API
process (each reads the same SQL), bounded by aggregates (one row per label set, never a row per job).

Every query groups by POOL_COLUMNS as well: empty today; issue 17 adds `job.pool`, and then `(Job.pool,)` here (and
"pool" in POOL_LABELS) gives every job and queue metric a pool label without touching the queries.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.states import TERMINAL_STATUSES
from core.tables import Job, JobEvent, MetricChunk, MetricPoint

POOL_COLUMNS: tuple[Any, ...] = ()
POOL_LABELS: tuple[str, ...] = ()
# Seconds, from a blink to a day: a queue wait or a training run of a day is the longest worth telling apart.
SECONDS_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400)

Labels = tuple[str, ...]


@dataclass
class Histogram:
    """A cumulative histogram: how many observations were at most each bucket's bound, their count and sum."""

    buckets: tuple[float, ...]
    counts: list[int]
    count: int = 0
    total: float = 0.0


@dataclass
class Snapshot:
    """The domain's numbers at one instant, keyed by label values (POOL_LABELS first, then the metric's own)."""

    jobs: dict[Labels, int] = field(default_factory=dict)  # (*pool, status)
    queue_depth: dict[Labels, int] = field(default_factory=dict)  # (*pool,)
    oldest_queued_seconds: dict[Labels, float] = field(default_factory=dict)  # (*pool,)
    queue_wait: dict[Labels, Histogram] = field(default_factory=dict)  # (*pool,)
    duration: dict[Labels, Histogram] = field(default_factory=dict)  # (*pool, status)
    finished: dict[Labels, int] = field(default_factory=dict)  # (*pool, status, reason)
    requeues: dict[Labels, int] = field(default_factory=dict)  # (reason,)
    stale_heartbeat_seconds: dict[Labels, float] = field(default_factory=dict)  # (*pool,)
    points_stored: int = 0


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """later - earlier in seconds, in SQL: SQLite keeps timestamps as text, PostgreSQL as timestamptz."""
    if session.get_bind().dialect.name == "sqlite":
        # julianday's double is good to ~10 us over today's dates: rounded to ms, 5.000 s stays in the 5 s bucket.
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return cast(func.extract("epoch", later - earlier), Float)


def _histograms(session: Session, seconds: ColumnElement[float], where: list[Any], by: tuple[Any, ...]) -> Any:
    """One aggregate row per label set: a count per bucket bound, the count and the sum."""
    bounds = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in SECONDS_BUCKETS]
    query = select(*by, *bounds, func.count(), func.coalesce(func.sum(seconds), 0.0)).where(*where).group_by(*by)
    width = len(by)
    result: dict[Labels, Histogram] = {}
    for row in session.execute(query):
        labels = tuple(str(value) for value in row[:width])
        counts = [int(n or 0) for n in row[width : width + len(SECONDS_BUCKETS)]]
        result[labels] = Histogram(SECONDS_BUCKETS, counts, int(row[-2]), float(row[-1]))
    return result


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _queue(session: Session, snapshot: Snapshot, now: datetime) -> None:
    queued = select(*POOL_COLUMNS, func.count(), func.min(Job.created_at)).where(Job.status == "queued")
    rows = session.execute(queued.group_by(*POOL_COLUMNS))
    for row in rows:
        pool = tuple(str(value) for value in row[: len(POOL_COLUMNS)])
        snapshot.queue_depth[pool] = int(row[-2])
        snapshot.oldest_queued_seconds[pool] = _age(now, row[-1])
    # With no pools, one series that says 0 rather than none: an alert on it then sees an empty queue.
    if not POOL_COLUMNS and not snapshot.queue_depth:
        snapshot.queue_depth[()], snapshot.oldest_queued_seconds[()] = 0, 0.0


def _running(session: Session, snapshot: Snapshot, now: datetime) -> None:
    rows = session.execute(
        select(*POOL_COLUMNS, func.min(Job.heartbeat_at)).where(Job.status == "running").group_by(*POOL_COLUMNS)
    )
    for row in rows:
        snapshot.stale_heartbeat_seconds[tuple(str(v) for v in row[:-1])] = _age(now, row[-1])
    if not POOL_COLUMNS and not snapshot.stale_heartbeat_seconds:
        snapshot.stale_heartbeat_seconds[()] = 0.0


def _counts(session: Session, snapshot: Snapshot) -> None:
    for row in session.execute(select(*POOL_COLUMNS, Job.status, func.count()).group_by(*POOL_COLUMNS, Job.status)):
        snapshot.jobs[tuple(str(value) for value in row[:-1])] = int(row[-1])
    ended = select(*POOL_COLUMNS, Job.status, Job.reason, func.count()).where(Job.status.in_(TERMINAL_STATUSES))
    for row in session.execute(ended.group_by(*POOL_COLUMNS, Job.status, Job.reason)):
        *labels, reason, count = row
        snapshot.finished[(*map(str, labels), reason or "none")] = int(count)
    # Each time a job went back to the queue is one state-log row: worker_lost and shutdown restart it,
    # message_lost sends its message again.
    requeued = select(JobEvent.reason, func.count()).where(JobEvent.status == "queued", JobEvent.reason.is_not(None))
    for reason, count in session.execute(requeued.group_by(JobEvent.reason)):
        snapshot.requeues[(str(reason),)] = int(count)
    hot = session.execute(select(func.count()).select_from(MetricPoint)).scalar_one()
    packed = session.execute(select(func.coalesce(func.sum(MetricChunk.count), 0))).scalar_one()
    snapshot.points_stored = int(hot) + int(packed)


def read_snapshot(session: Session, *, now: datetime) -> Snapshot:
    """Jobs by status, the queue, the wait and run time histograms, endings, requeues and stored points, from SQL."""
    snapshot = Snapshot()
    _counts(session, snapshot)
    _queue(session, snapshot, now)
    _running(session, snapshot, now)
    started = [Job.started_at.is_not(None)]
    snapshot.queue_wait = _histograms(session, _seconds(session, Job.started_at, Job.created_at), started, POOL_COLUMNS)
    ended = [Job.status.in_(TERMINAL_STATUSES), Job.started_at.is_not(None), Job.finished_at.is_not(None)]
    run_time = _seconds(session, Job.finished_at, Job.started_at)
    snapshot.duration = _histograms(session, run_time, ended, (*POOL_COLUMNS, Job.status))
    return snapshot
