"""Metric histories in SQL: packed chunks of CHUNK_POINTS per series (the last one may be smaller and grows as points
come) and a hot tail of rows for small writes, packed into the chunks as it fills.

Writes are idempotent per (job_id, name, step): a point at or before a series' last chunk is one already stored, and a
point in the hot tail is inserted with insert-or-ignore. Reads join each series' chunks and its tail; a downsampled
read of a long series reads only its chunks' rollups.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from core.buckets import reads_rollups
from core.chunks import CHUNK_POINTS, Segments, downsample_segments, pack_all, unpack, unpack_rollups
from core.metrics import Point, Series, downsample, summary_of
from core.repository.upserts import insert_or_ignore
from core.tables import MetricChunk, MetricPoint

NO_STEP = -1  # below every step: steps count from 1, and a resumed history may start again from 0


def _rows_of(*, job_id: str, name: str, series: Series) -> list[dict[str, Any]]:
    """The tail rows of these points."""
    return [
        {"job_id": job_id, "name": name, "step": s, "epoch": e, "value": v, "time": t}
        for s, e, v, t in zip(
            series.step.tolist(), series.epoch.tolist(), series.value.tolist(), series.time.tolist(), strict=True
        )
    ]


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert tail rows of any series at once (one statement: a job's epoch write touches half a dozen series)."""
    if rows:
        session.execute(insert_or_ignore(session, MetricPoint), rows)


def _by_name(points: Iterable[Point]) -> dict[str, Series]:
    """Each series' points in step order, one per step (the first given wins, as insert-or-ignore would)."""
    grouped: dict[str, list[Point]] = defaultdict(list)
    for point in points:
        grouped[point.name].append(point)
    return {name: _series_of(listed) for name, listed in grouped.items()}


def _series_of(points: list[Point]) -> Series:
    """The points as columns (one pass each, no tuple per point), sorted by step, each step's first point kept."""
    n = len(points)
    series = Series(
        np.fromiter((p.step for p in points), np.int64, n),
        np.fromiter((p.epoch for p in points), np.int64, n),
        np.fromiter((math.nan if p.value is None else p.value for p in points), np.float64, n),
        np.fromiter((p.time for p in points), np.float64, n),
    )
    if n < 2 or bool((np.diff(series.step) > 0).all()):  # the usual case: in step order already
        return series
    _, first = np.unique(series.step, return_index=True)
    return series.take(first)


# A series' batch of at least this many points is packed at once (appended to its last chunk), not written as rows:
# rows cost PostgreSQL an index entry each and a delete when they are packed (5,000-point batches of 10 series went in
# at 41,578 points/s as rows, see benchmarks/RESULTS.md), while a smaller write rewriting a chunk would copy more
# than it adds.
PACK_AT = CHUNK_POINTS // 10


def _open_chunks(session: Session, *, job_id: str) -> dict[str, tuple[int, int, int]]:
    """Each series' last chunk: (its last step, its first step if it is not full else NO_STEP, its size or 0).

    Two small queries rather than one join: an aggregate over the primary key, then a lookup of the last chunks by
    key. (A join of the two made PostgreSQL's planner, on a fresh table, rescan the job's chunks per series: 71 ms a
    batch at 500 chunks.)
    """
    ends = session.execute(
        select(MetricChunk.name, func.max(MetricChunk.first_step), func.max(MetricChunk.last_step))
        .where(MetricChunk.job_id == job_id)
        .group_by(MetricChunk.name)
    ).all()
    if not ends:
        return {}
    keys = tuple_(MetricChunk.name, MetricChunk.first_step).in_([(name, first) for name, first, _ in ends])
    query = select(MetricChunk.name, MetricChunk.count).where(MetricChunk.job_id == job_id, keys)
    counts: dict[str, int] = {name: count for name, count in session.execute(query)}
    return {
        name: (last, first, counts[name]) if counts[name] < CHUNK_POINTS else (last, NO_STEP, 0)
        for name, first, last in ends
    }


def _pack_open_ends(
    session: Session, *, job_id: str, series: dict[str, Series], open_first: dict[str, int], with_rows: list[str]
) -> None:
    """Pack each series' open end (its last chunk if not full, its tail rows, the new points) into chunks, the last
    one possibly not full: one read and one delete per table, and one insert, for all the series together."""
    if not series:
        return
    reopened = [(name, first) for name, first in open_first.items() if first != NO_STEP]
    chunks = {name: unpack([s], [e], [v], [t]) for name, _, s, e, v, t in _fetch_open(session, job_id, reopened)}
    tails = _tails(session, job_id=job_id, names=with_rows, after_step=NO_STEP, through_step=None) if with_rows else {}
    if reopened:
        keys = tuple_(MetricChunk.name, MetricChunk.first_step).in_(reopened)
        session.execute(delete(MetricChunk).where(MetricChunk.job_id == job_id, keys))
    if with_rows:
        session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.name.in_(with_rows)))
    rows = []
    for name, fresh in series.items():
        parts = [part[name] for part in (chunks, tails) if name in part]
        rows += [{"job_id": job_id, "name": name, **vars(c)} for c in pack_all(Series.concat([*parts, fresh]))]
    session.execute(insert(MetricChunk), rows)


def _fetch_open(session: Session, job_id: str, keys: list[tuple[str, int]]) -> list[Any]:
    """The packed rows of these (name, first step) chunks of a job."""
    if not keys:
        return []
    where = (MetricChunk.job_id == job_id, tuple_(MetricChunk.name, MetricChunk.first_step).in_(keys))
    return _fetch_packed(session, _chunk_columns().where(*where))


def insert_points(session: Session, *, job_id: str, points: Sequence[Point]) -> dict[str, Series]:
    """Store points and return those that were new; a point whose (job_id, name, step) is stored already is skipped,
    so a retry never duplicates.

    A series' points arrive in step order (a resumed attempt first rewinds to its checkpoint), so a point at or before
    the series' last stored step is one stored already. A batch of PACK_AT points or more, or one that fills the open
    end of its series (its last chunk when not full, then its tail rows) to CHUNK_POINTS, is packed with that open
    end into chunks in the same transaction; a smaller one goes into the tail as rows.
    """
    if not points:
        return {}
    ends = _open_chunks(session, job_id=job_id)
    tails: dict[str, tuple[int, int]] = {
        name: (size, last)
        for name, size, last in session.execute(
            select(MetricPoint.name, func.count(), func.max(MetricPoint.step))
            .where(MetricPoint.job_id == job_id)
            .group_by(MetricPoint.name)
        )
    }
    stored: dict[str, Series] = {}
    to_pack: dict[str, Series] = {}
    rows: list[dict[str, Any]] = []
    for name, series in _by_name(points).items():
        packed_through, _, open_count = ends.get(name, (NO_STEP, NO_STEP, 0))
        tail_size, tail_last = tails.get(name, (0, NO_STEP))
        fresh = stored[name] = series.between(max(packed_through, tail_last))
        if len(fresh) and (len(fresh) >= PACK_AT or open_count + tail_size + len(fresh) >= CHUNK_POINTS):
            to_pack[name] = fresh
        else:
            rows += _rows_of(job_id=job_id, name=name, series=fresh)
    _insert_rows(session, rows)
    open_first = {name: ends.get(name, (NO_STEP, NO_STEP, 0))[1] for name in to_pack}
    with_rows = [name for name in to_pack if name in tails]
    _pack_open_ends(session, job_id=job_id, series=to_pack, open_first=open_first, with_rows=with_rows)
    return stored


def delete_points_after(session: Session, *, job_id: str, step: int) -> dict[str, Any]:
    """Drop the points past a step and return the summary of those that remain."""
    session.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.step > step))
    cut = (MetricChunk.job_id == job_id, MetricChunk.first_step <= step, MetricChunk.last_step > step)
    straddling = _fetch_packed(session, _chunk_columns().where(*cut))
    session.execute(delete(MetricChunk).where(MetricChunk.job_id == job_id, MetricChunk.last_step > step))
    for name, _, steps, epochs, values, times in straddling:
        kept = unpack([steps], [epochs], [values], [times]).between(NO_STEP, step)
        _insert_rows(session, _rows_of(job_id=job_id, name=name, series=kept))
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
    # A series of fewer chunks than buckets is read in full: its rollups are too coarse to fill every bucket. A last
    # chunk that is not full is counted as the tail rows it stands for, so the choice is the same however the points
    # were batched.
    long = {name for name, rows in chunks.items() if reads_rollups(_full_chunks(rows), max_points)}
    packed = _packed_series(session, job_id=job_id, names=names, window=window, skip=long)
    short = _joined(packed, tails, skip=long)
    history = {name: downsample(series, max_points) for name, series in short.items()}
    for name in long:
        segments = _segments(session, job_id=job_id, name=name, rows=chunks[name], tail=tails.get(name))
        history[name] = downsample_segments(segments.between(after_step, through_step), max_points)
    return dict(sorted(history.items()))


def _full_chunks(rows: list[tuple[int, int, int, bytes]]) -> int:
    """How many chunks a series has, its last one not counted when it is not full."""
    return len(rows) - (1 if rows and rows[-1][1] < CHUNK_POINTS else 0)


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
