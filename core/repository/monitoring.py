"""What operators watch, read from the job rows at scrape time: one snapshot per scrape, the same from every API
process (each reads the same SQL), bounded by aggregates (one row per label set, never a row per job).

Every query groups by POOL_COLUMNS as well, so every job and queue metric has a `pool` label. A pool that a worker
has joined shows a queue depth, an oldest wait and a heartbeat age of 0 when it has nothing queued or running, so an
alert on it sees an empty pool rather than no series.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core.repository.endings import Endings, Labels, SettledEndings
from core.tables import Job, JobEvent, MetricChunk, MetricPoint, Worker

POOL_COLUMNS: tuple[Any, ...] = (Job.pool,)
POOL_LABELS: tuple[str, ...] = ("pool",)


@dataclass
class Snapshot:
    """The domain's numbers at one instant, keyed by label values (POOL_LABELS first, then the metric's own)."""

    jobs: dict[Labels, int] = field(default_factory=dict)  # (*pool, status)
    queue_depth: dict[Labels, int] = field(default_factory=dict)  # (*pool,)
    oldest_queued_seconds: dict[Labels, float] = field(default_factory=dict)  # (*pool,)
    endings: Endings = field(default_factory=Endings)
    requeues: dict[Labels, int] = field(default_factory=dict)  # (reason,)
    stale_heartbeat_seconds: dict[Labels, float] = field(default_factory=dict)  # (*pool,)
    live_workers: dict[Labels, int] = field(default_factory=dict)  # (pool,)
    gpu_utilization: dict[Labels, float] = field(default_factory=dict)  # (pool, worker): live GPU workers only
    gpu_memory_used_bytes: dict[Labels, float] = field(default_factory=dict)  # (pool, worker)
    gpu_memory_bytes: dict[Labels, float] = field(default_factory=dict)  # (pool, worker)
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


def _running(session: Session, snapshot: Snapshot, now: datetime) -> None:
    rows = session.execute(
        select(*POOL_COLUMNS, func.min(Job.heartbeat_at)).where(Job.status == "running").group_by(*POOL_COLUMNS)
    )
    for row in rows:
        snapshot.stale_heartbeat_seconds[tuple(str(v) for v in row[:-1])] = _age(now, row[-1])


def _workers(session: Session, snapshot: Snapshot, *, alive_after: datetime, default_pool: str) -> None:
    """Live workers by pool (every pool a worker ever joined, and the default pool, listed: 0 when none lives), and
    a 0 for the queue and heartbeat gauges of each such pool with nothing queued or running."""
    snapshot.live_workers = {(default_pool,): 0}
    live = case((and_(Worker.left_at.is_(None), Worker.last_seen_at >= alive_after), 1), else_=0)
    for pool, count in session.execute(select(Worker.pool, func.sum(live)).group_by(Worker.pool)):
        snapshot.live_workers[(str(pool),)] = int(count or 0)  # every pool a worker joined, in one read
    for labels in snapshot.live_workers:
        snapshot.queue_depth.setdefault(labels, 0)
        snapshot.oldest_queued_seconds.setdefault(labels, 0.0)
        snapshot.stale_heartbeat_seconds.setdefault(labels, 0.0)


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


def _gpus(session: Session, snapshot: Snapshot, *, alive_after: datetime) -> None:
    """Each live GPU worker's last reading (its heartbeat's): a label per worker, bounded by the workers that run."""
    gpus = select(Worker.pool, Worker.id, Worker.gpu_utilization, Worker.gpu_memory_used_bytes, Worker.gpu_memory_bytes)
    live = (Worker.left_at.is_(None), Worker.last_seen_at >= alive_after, Worker.gpu_utilization.is_not(None))
    for pool, worker_id, busy, used, total in session.execute(gpus.where(*live)):
        labels = (str(pool), str(worker_id))
        snapshot.gpu_utilization[labels] = float(busy or 0.0)  # not null: the query asks for readings
        if used is not None:
            snapshot.gpu_memory_used_bytes[labels] = float(used)
        if total is not None:
            snapshot.gpu_memory_bytes[labels] = float(total)


def read_snapshot(
    session: Session, *, now: datetime, settled: SettledEndings, alive_after: datetime, default_pool: str
) -> Snapshot:
    """Jobs by status, the queue, the wait and run time histograms, endings, requeues, live workers and stored
    points, from SQL; `settled` keeps the endings of long-ended jobs between scrapes, so a scrape reads only the
    recent ones; a worker is live when seen after `alive_after`."""
    snapshot = Snapshot()
    _counts(session, snapshot)
    _queue(session, snapshot, now)
    _running(session, snapshot, now)
    _workers(session, snapshot, alive_after=alive_after, default_pool=default_pool)
    _gpus(session, snapshot, alive_after=alive_after)
    snapshot.endings = settled.read(session, now=now, pool_columns=POOL_COLUMNS)
    return snapshot
