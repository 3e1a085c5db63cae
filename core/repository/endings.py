"""How jobs ended, for the metrics: counts by status and reason, and histograms of queue wait and run time.

These are cumulative, so a scrape would read every ended job, ever. It does not: a job submitted before every job
still queued or running (and over SETTLE_MARGIN ago) has ended for good (only a just-submitted job is ever deleted),
so its numbers never change. SettledEndings adds each such job once, walking the `created_at` index forward, and each
scrape reads only the jobs submitted since. Every process reaches the same numbers from the same rows.
"""

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.states import ACTIVE_STATUSES
from core.tables import Job

# Seconds, from a blink to a day: a queue wait or a training run of a day is the longest worth telling apart.
SECONDS_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400)
# Far longer than any transaction that inserts a job takes to commit.
SETTLE_MARGIN = timedelta(hours=1)

Labels = tuple[str, ...]


@dataclass
class Histogram:
    """A cumulative histogram: how many observations were at most each bucket's bound, their count and sum."""

    buckets: tuple[float, ...] = SECONDS_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * len(SECONDS_BUCKETS))
    count: int = 0
    total: float = 0.0

    def add(self, other: "Histogram") -> None:
        """Fold another histogram's observations into this one."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.count += other.count
        self.total += other.total


@dataclass
class Endings:
    """Ended jobs: by (*pool, status, reason); queue wait by (*pool,); run time by (*pool, status)."""

    finished: dict[Labels, int] = field(default_factory=dict)
    queue_wait: dict[Labels, Histogram] = field(default_factory=dict)
    duration: dict[Labels, Histogram] = field(default_factory=dict)

    def add(self, other: "Endings") -> None:
        """Fold another set of endings into this one."""
        for labels, count in other.finished.items():
            self.finished[labels] = self.finished.get(labels, 0) + count
        for mine, theirs in ((self.queue_wait, other.queue_wait), (self.duration, other.duration)):
            for labels, histogram in theirs.items():
                mine.setdefault(labels, Histogram()).add(histogram)


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """later - earlier in seconds, in SQL: SQLite keeps timestamps as text, PostgreSQL as timestamptz."""
    if session.get_bind().dialect.name == "sqlite":
        # julianday's double is good to ~10 us over today's dates: rounded to ms, 5.000 s stays in the 5 s bucket.
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return cast(func.extract("epoch", later - earlier), Float)


def _histograms(session: Session, seconds: ColumnElement[float], where: list[Any], by: tuple[Any, ...]) -> Any:
    """Observations per label set and bucket, made cumulative here: the seconds are worked out once per row (in a
    subquery), and the database sends one row per label set and bucket."""
    bucket = case(
        *((seconds <= bound, index) for index, bound in enumerate(SECONDS_BUCKETS)), else_=len(SECONDS_BUCKETS)
    )
    rows = select(*by, bucket.label("bucket"), seconds.label("seconds")).where(*where).subquery()
    keys = [rows.c[column.key] for column in by]
    query = select(*keys, rows.c.bucket, func.count(), func.sum(rows.c.seconds)).group_by(*keys, rows.c.bucket)
    result: dict[Labels, Histogram] = {}
    for *labels, index, count, total in session.execute(query):
        seen = result.setdefault(tuple(map(str, labels)), Histogram())
        for at in range(int(index), len(SECONDS_BUCKETS)):
            seen.counts[at] += int(count)
        seen.count += int(count)
        seen.total += float(total or 0.0)
    return result


def read_endings(
    session: Session, *, since: datetime | None, before: datetime | None, pool: tuple[Any, ...]
) -> Endings:
    """The endings of jobs submitted in [since, before) (either end open when None)."""
    # Every ending sets finished_at. Not `status IN (...)`: the planners would take ix_job_status for it and walk
    # every ended job, where the window on created_at walks only the jobs submitted in it.
    window: list[ColumnElement[bool]] = [Job.finished_at.is_not(None)]
    window += [Job.created_at >= since] if since is not None else []
    window += [Job.created_at < before] if before is not None else []
    endings = Endings()
    # Grouped by an expression, not the column: grouped by the column, SQLite walks ix_job_status (every job) to
    # save a sort, not the created_at window.
    status = Job.status.concat("").label("status")
    ended = select(*pool, status, Job.reason, func.count()).where(*window)
    for *labels, reason, count in session.execute(ended.group_by(*pool, status, Job.reason)):
        endings.finished[(*map(str, labels), reason or "none")] = int(count)
    ran = [*window, Job.started_at.is_not(None)]
    waited = _seconds(session, Job.started_at, Job.created_at)
    endings.queue_wait = _histograms(session, waited, ran, pool)
    endings.duration = _histograms(session, _seconds(session, Job.finished_at, Job.started_at), ran, (*pool, status))
    return endings


class SettledEndings:
    """The endings of settled jobs (see the module's note), kept between scrapes by one API process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._through: datetime | None = None  # every job submitted before this is counted in _settled
        self._settled = Endings()

    def read(self, session: Session, *, now: datetime, pool_columns: tuple[Any, ...]) -> Endings:
        """Every ending so far: the settled ones, brought up to date, plus those of jobs submitted since."""
        oldest_active = session.execute(
            select(func.min(Job.created_at)).where(Job.status.in_(ACTIVE_STATUSES))
        ).scalar_one()
        cutoff = min(now - SETTLE_MARGIN, oldest_active or now)
        with self._lock:
            if self._through is None or cutoff > self._through:
                newly = read_endings(session, since=self._through, before=cutoff, pool=pool_columns)
                self._settled.add(newly)
                self._through = cutoff
            total = Endings()
            total.add(self._settled)
            through = self._through
        total.add(read_endings(session, since=through, before=None, pool=pool_columns))
        return total
