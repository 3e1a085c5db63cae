"""Metric points: idempotent batch inserts, columnar reads, and rewinding a history to a checkpoint."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.metrics import Point, Series, merge_summary
from core.models import MetricPoint


def insert_points(session: Session, *, job_id: str, points: Sequence[Point]) -> None:
    """Insert points; a point whose (job_id, name, step) exists already is skipped, so a retry never duplicates."""
    if not points:
        return
    dialect = session.get_bind().dialect.name
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(MetricPoint).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(MetricPoint).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two databases above are supported
        raise NotImplementedError(f"database '{dialect}' is not supported")
    rows: list[dict[str, Any]] = [
        {"job_id": job_id, "name": p.name, "step": p.step, "epoch": p.epoch, "value": p.value, "time": p.time}
        for p in points
    ]
    session.execute(statement, rows)


def delete_points_after(session: Session, *, job_id: str, step: int) -> dict[str, Any]:
    """Drop the points past a step and return the summary of those that remain."""
    session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.step > step))
    remaining = session.execute(
        select(MetricPoint.name, MetricPoint.step, MetricPoint.epoch, MetricPoint.value, MetricPoint.time)
        .where(MetricPoint.job_id == job_id)
        .execution_options(yield_per=10_000)
    )
    return merge_summary({}, [Point(n, s, e, v if v is not None else float("nan"), t) for n, s, e, v, t in remaining])


def metric_names(session: Session, *, job_id: str) -> list[str]:
    """The names of the metrics a job has recorded."""
    return sorted(session.scalars(select(MetricPoint.name).where(MetricPoint.job_id == job_id).distinct()))


def read_metrics(
    session: Session, *, job_id: str, names: Sequence[str] | None, after_step: int, through_step: int | None = None
) -> dict[str, Series]:
    """A job's history as one columnar series per metric, ordered by step, only steps after after_step (and at most
    through_step, when given)."""
    query = (
        select(MetricPoint.name, MetricPoint.step, MetricPoint.epoch, MetricPoint.value, MetricPoint.time)
        .where(MetricPoint.job_id == job_id, MetricPoint.step > after_step)
        .order_by(MetricPoint.name, MetricPoint.step)
    )
    if names is not None:
        query = query.where(MetricPoint.name.in_(names))
    if through_step is not None:
        query = query.where(MetricPoint.step <= through_step)
    series: dict[str, Series] = {}
    for name, step, epoch, value, time in session.execute(query):
        series.setdefault(name, Series()).append(step, epoch, value, time)
    return series
