"""Metric histories in SQL: a hot tail of rows per series, packed into chunks of CHUNK_POINTS as it fills.

Writes are idempotent per (job_id, name, step): a point at or before a series' last chunk is one already stored, and a
point in the hot tail is inserted with insert-or-ignore. Reads join each series' chunks and its tail; a downsampled
read of a long series reads only its chunks' rollups.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from core.buckets import reads_rollups
from core.chunks import CHUNK_POINTS, PackedChunk, Segments, downsample_segments, split, unpack, unpack_rollups
from core.metrics import Point, Series, downsample, summary_of
from core.repository.upserts import insert_or_ignore
from core.tables import MetricChunk, MetricPoint

NO_STEP = -1  # below every step: steps count from 1, and a resumed history may start again from 0


def _insert_rows(session: Session, *, job_id: str, name: str, series: Series) -> None:
    if not len(series):
        return
    rows: list[dict[str, Any]] = [
        {"job_id": job_id, "name": name, "step": s, "epoch": e, "value": v, "time": t}
        for s, e, v, t in zip(
            series.step.tolist(), series.epoch.tolist(), series.value.tolist(), series.time.tolist(), strict=True
        )
    ]
    session.execute(insert_or_ignore(session, MetricPoint), rows)


def _insert_chunks(session: Session, *, job_id: str, name: str, chunks: list[PackedChunk]) -> None:
    if chunks:
        session.execute(insert(MetricChunk), [{"job_id": job_id, "name": name, **vars(c)} for c in chunks])


def _by_name(points: Iterable[Point]) -> dict[str, Series]:
    """Each series' points in step order, one per step (the first given wins, as insert-or-ignore would)."""
    grouped: dict[str, dict[int, Point]] = defaultdict(dict)
    for point in points:
        grouped[point.name].setdefault(point.step, point)
    return {
        name: Series.of((p.step, p.epoch, p.value, p.time) for _, p in sorted(by_step.items()))
        for name, by_step in grouped.items()
    }


def _tail(session: Session, *, job_id: str, name: str) -> Series:
    query = (
        select(MetricPoint.step, MetricPoint.epoch, MetricPoint.value, MetricPoint.time)
        .where(MetricPoint.job_id == job_id, MetricPoint.name == name)
        .order_by(MetricPoint.step)
    )
    return Series.of((step, epoch, value, time) for step, epoch, value, time in session.execute(query))


def insert_points(session: Session, *, job_id: str, points: Sequence[Point]) -> dict[str, Series]:
    """Store points and return those that were new; a point whose (job_id, name, step) is stored already is skipped,
    so a retry never duplicates.

    A series' points arrive in step order (a resumed attempt first rewinds to its checkpoint), so a point at or before
    the series' last stored step is one stored already. A series whose tail reaches CHUNK_POINTS has it packed into
    chunks in the same transaction; a batch that brings many points at once goes straight into chunks.
    """
    if not points:
        return {}
    packed_through: dict[str, int] = {
        name: last
        for name, last in session.execute(
            select(MetricChunk.name, func.max(MetricChunk.last_step))
            .where(MetricChunk.job_id == job_id)
            .group_by(MetricChunk.name)
        )
    }
    tails: dict[str, tuple[int, int]] = {
        name: (size, last)
        for name, size, last in session.execute(
            select(MetricPoint.name, func.count(), func.max(MetricPoint.step))
            .where(MetricPoint.job_id == job_id)
            .group_by(MetricPoint.name)
        )
    }
    stored: dict[str, Series] = {}
    for name, series in _by_name(points).items():
        tail_size, tail_last = tails.get(name, (0, NO_STEP))
        fresh = stored[name] = series.between(max(packed_through.get(name, NO_STEP), tail_last))
        if tail_size + len(fresh) < CHUNK_POINTS:
            _insert_rows(session, job_id=job_id, name=name, series=fresh)
            continue
        tail = _tail(session, job_id=job_id, name=name)
        chunks, rest = split(Series.concat([tail, fresh]))
        session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.name == name))
        _insert_chunks(session, job_id=job_id, name=name, chunks=chunks)
        _insert_rows(session, job_id=job_id, name=name, series=rest)
    return stored


def delete_points_after(session: Session, *, job_id: str, step: int) -> dict[str, Any]:
    """Drop the points past a step and return the summary of those that remain."""
    session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.step > step))
    cut = (MetricChunk.job_id == job_id, MetricChunk.first_step <= step, MetricChunk.last_step > step)
    straddling = _fetch_packed(session, _chunk_columns().where(*cut))
    session.execute(delete(MetricChunk).where(MetricChunk.job_id == job_id, MetricChunk.last_step > step))
    for name, _, steps, epochs, values, times in straddling:
        kept = unpack([steps], [epochs], [values], [times]).between(NO_STEP, step)
        _insert_rows(session, job_id=job_id, name=name, series=kept)
    history = read_metrics(session, job_id=job_id, names=None, after_step=NO_STEP)
    return {name: summary_of(series, name=name) for name, series in history.items()}


def _fetch_packed(session: Session, query: Select[str, int, bytes, bytes, bytes, bytes]) -> list[Any]:
    """The rows of a query for packed columns. On PostgreSQL they come in the binary protocol: bytea as text is hex,
    twice the bytes to send and a parse on arrival (a 100,000-point read went from 23 ms to 5 ms)."""
    if session.get_bind().dialect.name != "postgresql":
        return list(session.execute(query))
    compiled = query.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    raw = session.connection().connection.driver_connection
    with raw.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        return cursor.execute(str(compiled), compiled.params).fetchall()  # type: ignore[no-any-return]


def _chunk_columns() -> Select[str, int, bytes, bytes, bytes, bytes]:
    return select(
        MetricChunk.name,
        MetricChunk.first_step,
        MetricChunk.steps,
        MetricChunk.epochs,
        MetricChunk.values,
        MetricChunk.times,
    )


def _window(query: Any, model: Any, *, job_id: str, names: Sequence[str] | None) -> Any:
    query = query.where(model.job_id == job_id)
    return query if names is None else query.where(model.name.in_(names))


def _tails(
    session: Session, *, job_id: str, names: Sequence[str] | None, after_step: int, through_step: int | None
) -> dict[str, Series]:
    query = select(MetricPoint.name, MetricPoint.step, MetricPoint.epoch, MetricPoint.value, MetricPoint.time)
    query = _window(query, MetricPoint, job_id=job_id, names=names).where(MetricPoint.step > after_step)
    if through_step is not None:
        query = query.where(MetricPoint.step <= through_step)
    rows: dict[str, list[tuple[int, int, float | None, float]]] = defaultdict(list)
    for name, step, epoch, value, time in session.execute(query.order_by(MetricPoint.name, MetricPoint.step)):
        rows[name].append((step, epoch, value, time))
    return {name: Series.of(points) for name, points in rows.items()}


def _chunk_window(query: Any, *, after_step: int, through_step: int | None) -> Any:
    query = query.where(MetricChunk.last_step > after_step)
    if through_step is not None:
        query = query.where(MetricChunk.first_step <= through_step)
    return query.order_by(MetricChunk.name, MetricChunk.first_step)


def _packed_series(
    session: Session,
    *,
    job_id: str,
    names: Sequence[str] | None,
    window: tuple[int, int | None],
    skip: Iterable[str] = (),
) -> dict[str, Series]:
    """The chunked part of each series in the window (after_step, through_step], but those to skip, unpacked in one
    join per column."""
    after_step, through_step = window
    query = _window(_chunk_columns(), MetricChunk, job_id=job_id, names=names).where(MetricChunk.name.not_in(skip))
    columns: dict[str, tuple[list[bytes], ...]] = defaultdict(lambda: ([], [], [], []))
    for name, _, *packed in _fetch_packed(
        session, _chunk_window(query, after_step=after_step, through_step=through_step)
    ):
        for column, data in zip(columns[name], packed, strict=True):
            column.append(data)
    return {name: unpack(*packed).between(after_step, through_step) for name, packed in columns.items()}


def _joined(packed: dict[str, Series], tails: dict[str, Series], *, skip: Iterable[str] = ()) -> dict[str, Series]:
    """Each series' chunks followed by its tail (every tail step is past its last chunk)."""
    names = sorted((set(packed) | set(tails)) - set(skip))
    return {name: Series.concat([part[name] for part in (packed, tails) if name in part]) for name in names}


def _chunk_index(
    session: Session, *, job_id: str, names: Sequence[str] | None, after_step: int, through_step: int | None
) -> dict[str, list[tuple[int, int, int, bytes]]]:
    """Each series' chunks in the window without their points: first step, size, non-finite count and rollup."""
    columns = (MetricChunk.name, MetricChunk.first_step, MetricChunk.count, MetricChunk.nonfinite, MetricChunk.rollup)
    query = _window(select(*columns), MetricChunk, job_id=job_id, names=names)
    query = _chunk_window(query, after_step=after_step, through_step=through_step)
    chunks: dict[str, list[tuple[int, int, int, bytes]]] = defaultdict(list)
    for name, first, count, nonfinite, rollup in session.execute(query):
        chunks[name].append((first, count, nonfinite, rollup))
    return chunks


def read_metrics(
    session: Session,
    *,
    job_id: str,
    names: Sequence[str] | None,
    after_step: int,
    through_step: int | None = None,
    max_points: int | None = None,
) -> dict[str, Series]:
    """A job's history as one columnar series per metric, in step order, with after_step < step <= through_step.

    With max_points, each series keeps its shape in about that many points (first, last, extremes, non-finite). A
    series of many chunks is downsampled from their rollups, reading in full only the chunks at its ends and any
    with non-finite values, so a million-point history costs about a thousand small rows.
    """
    window = (after_step, through_step)
    tails = _tails(session, job_id=job_id, names=names, after_step=after_step, through_step=through_step)
    if max_points is None:
        return _joined(_packed_series(session, job_id=job_id, names=names, window=window), tails)
    chunks = _chunk_index(session, job_id=job_id, names=names, after_step=after_step, through_step=through_step)
    # A series of fewer chunks than buckets is read in full: its rollups are too coarse to fill every bucket.
    long = {name for name, rows in chunks.items() if reads_rollups(len(rows), max_points)}
    packed = _packed_series(session, job_id=job_id, names=names, window=window, skip=long)
    short = _joined(packed, tails, skip=long)
    history = {name: downsample(series, max_points) for name, series in short.items()}
    for name in long:
        segments = _segments(session, job_id=job_id, name=name, rows=chunks[name], tail=tails.get(name))
        history[name] = downsample_segments(segments.between(after_step, through_step), max_points)
    return dict(sorted(history.items()))


def _segments(
    session: Session, *, job_id: str, name: str, rows: list[tuple[int, int, int, bytes]], tail: Series | None
) -> Segments:
    """One long series as segments: its chunks by their rollups, but the end chunks and non-finite ones in full."""
    last = len(rows) - 1 if tail is None else None
    firsts, sizes, nonfinite, packed_rollups = zip(*rows, strict=True)
    read_in_full = [first for i, first in enumerate(firsts) if i in (0, last) or nonfinite[i]]
    where = (MetricChunk.job_id == job_id, MetricChunk.name == name, MetricChunk.first_step.in_(read_in_full))
    rows_in_full = _fetch_packed(session, _chunk_columns().where(*where))
    by_step = {first: unpack([s], [e], [v], [t]) for _, first, s, e, v, t in rows_in_full}
    position = {first: i for i, first in enumerate(firsts)}
    loaded = {position[first]: series for first, series in by_step.items()}
    counts = np.array(sizes, np.int64)
    rollups = unpack_rollups(list(packed_rollups))
    if tail is not None:
        loaded[len(rows)] = tail
        counts = np.append(counts, len(tail))
        rollups = np.concatenate([rollups, np.full((1, 2, 4), np.nan)])
    return Segments(counts, rollups, loaded)
