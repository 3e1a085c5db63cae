"""What operators watch, read from the job rows at scrape time: one snapshot per scrape, the same from every API
process (each reads the same SQL), bounded by aggregates (one row per label set, never a row per job).

Every query groups by POOL_COLUMNS as well: empty today; issue 17 adds `job.pool`, and then `(Job.pool,)` here (and
"pool" in POOL_LABELS) gives every job and queue metric a pool label without touching the queries.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.repository.endings import Endings, Labels, SettledEndings
from core.tables import Job, JobEvent, MetricChunk, MetricPoint

POOL_COLUMNS: tuple[Any, ...] = ()
POOL_LABELS: tuple[str, ...] = ()


@dataclass
class Snapshot:
    """The domain's numbers at one instant, keyed by label values (POOL_LABELS first, then the metric's own)."""

    jobs: dict[Labels, int] = field(default_factory=dict)  # (*pool, status)
    queue_depth: dict[Labels, int] = field(default_factory=dict)  # (*pool,)
    oldest_queued_seconds: dict[Labels, float] = field(default_factory=dict)  # (*pool,)
    endings: Endings = field(default_factory=Endings)
    requeues: dict[Labels, int] = field(default_factory=dict)  # (reason,)
    stale_heartbeat_seconds: dict[Labels, float] = field(default_factory=dict)  # (*pool,)
    points_stored: int = 0


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
    # Each time a job went back to the queue is one state-log row: worker_lost and shutdown restart it,
    # message_lost sends its message again.
    requeued = select(JobEvent.reason, func.count()).where(JobEvent.status == "queued", JobEvent.reason.is_not(None))
    for reason, count in session.execute(requeued.group_by(JobEvent.reason)):
        snapshot.requeues[(str(reason),)] = int(count)
    hot = session.execute(select(func.count()).select_from(MetricPoint)).scalar_one()
    packed = session.execute(select(func.coalesce(func.sum(MetricChunk.count), 0))).scalar_one()
    snapshot.points_stored = int(hot) + int(packed)


def read_snapshot(session: Session, *, now: datetime, settled: SettledEndings) -> Snapshot:
    """Jobs by status, the queue, the wait and run time histograms, endings, requeues and stored points, from SQL;
    `settled` keeps the endings of long-ended jobs between scrapes, so a scrape reads only the recent ones."""
    snapshot = Snapshot()
    _counts(session, snapshot)
    _queue(session, snapshot, now)
    _running(session, snapshot, now)
    snapshot.endings = settled.read(session, now=now, pool_columns=POOL_COLUMNS)
    return snapshot
