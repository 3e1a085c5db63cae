"""Packed chunks of a metric series: CHUNK_POINTS points as four byte strings, plus a rollup of its extremes.

A history of a million points is a thousand rows of packed arrays instead of a million rows: reading it is a join of
bytes and one numpy view per column, and a downsampled read needs only each chunk's rollup (its minimum and maximum
points) unless a chunk holds non-finite values, which are always kept.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.metrics import Series, extreme_indices

CHUNK_POINTS = 1000
# Little-endian on the wire and on disk, whatever the machine: a database moves between machines.
STEP, EPOCH, VALUE, TIME = np.dtype("<i8"), np.dtype("<i4"), np.dtype("<f8"), np.dtype("<f8")
# A rollup is two points, the minimum then the maximum, each (step, epoch, value, time) as float64; NaN if no finite.
ROLLUP = np.dtype("<f8")


@dataclass(frozen=True)
class PackedChunk:
    """One chunk as stored: its step range and size, the packed columns, its rollup and its non-finite count."""

    first_step: int
    last_step: int
    count: int
    steps: bytes
    epochs: bytes
    values: bytes
    times: bytes
    rollup: bytes
    nonfinite: int


def rollup_of(series: Series) -> NDArray[np.float64]:
    """The (2, 4) array of a series' finite minimum and maximum points (step, epoch, value, time); NaN if none."""
    finite = np.flatnonzero(np.isfinite(series.value))
    if finite.size == 0:
        return np.full((2, 4), np.nan)
    at = finite[[int(series.value[finite].argmin()), int(series.value[finite].argmax())]]
    return np.stack([series.step[at], series.epoch[at], series.value[at], series.time[at]], axis=1).astype(np.float64)


def pack(series: Series) -> PackedChunk:
    """A chunk of these points (in step order)."""
    return PackedChunk(
        first_step=int(series.step[0]),
        last_step=int(series.step[-1]),
        count=len(series),
        steps=series.step.astype(STEP).tobytes(),
        epochs=series.epoch.astype(EPOCH).tobytes(),
        values=series.value.astype(VALUE).tobytes(),
        times=series.time.astype(TIME).tobytes(),
        rollup=rollup_of(series).astype(ROLLUP).tobytes(),
        nonfinite=int((~np.isfinite(series.value)).sum()),
    )


def unpack(steps: list[bytes], epochs: list[bytes], values: list[bytes], times: list[bytes]) -> Series:
    """The points of consecutive chunks, one column at a time: one join of bytes and one conversion per column."""
    return Series(
        np.frombuffer(b"".join(steps), STEP).astype(np.int64, copy=False),
        np.frombuffer(b"".join(epochs), EPOCH).astype(np.int64, copy=False),
        np.frombuffer(b"".join(values), VALUE).astype(np.float64, copy=False),
        np.frombuffer(b"".join(times), TIME).astype(np.float64, copy=False),
    )


def unpack_rollups(rollups: list[bytes]) -> NDArray[np.float64]:
    """The rollups of many chunks as one (chunks, 2, 4) array."""
    return np.frombuffer(b"".join(rollups), ROLLUP).astype(np.float64).reshape(-1, 2, 4)


def split(series: Series) -> tuple[list[PackedChunk], Series]:
    """The full chunks these points make, and the points left over (fewer than CHUNK_POINTS)."""
    full = len(series) // CHUNK_POINTS * CHUNK_POINTS
    chunks = [pack(series.take(slice(at, at + CHUNK_POINTS))) for at in range(0, full, CHUNK_POINTS)]
    return chunks, series.take(slice(full, None))


@dataclass(frozen=True)
class Rollup:
    """A chunk read without its points: how many it holds and its minimum and maximum points."""

    count: int
    extremes: NDArray[np.float64]  # (2, 4): the minimum point, then the maximum point


def _rows(series: Series, at: NDArray[np.intp]) -> NDArray[np.float64]:
    return np.stack([series.step[at], series.epoch[at], series.value[at], series.time[at]], axis=1).astype(np.float64)


def _pick(candidates: NDArray[np.float64], buckets: NDArray[np.intp], *, highest: bool) -> NDArray[np.float64]:
    """Of the candidate points, the lowest (or highest) value in each bucket; the first by position on a tie."""
    finite = np.isfinite(candidates[:, 2])
    candidates, buckets = candidates[finite], buckets[finite]
    if candidates.shape[0] == 0:
        return candidates
    keys = -candidates[:, 2] if highest else candidates[:, 2]
    order = np.lexsort((candidates[:, 0], keys, buckets))
    _, first = np.unique(buckets[order], return_index=True)
    return candidates[order[first]]


def downsample_segments(segments: Sequence[Series | Rollup], max_points: int) -> Series:
    """The shape-keeping subset (see core.metrics.keep_shape) of a series given as consecutive segments: points read
    in full, or chunks known only by their rollup. The first and last segments must be read in full, and so must any
    chunk with non-finite values, which are all kept. Each bucket of about n / buckets points keeps its minimum and
    maximum, so the global extremes survive. Deterministic for the same stored chunks."""
    n = sum(len(s) if isinstance(s, Series) else s.count for s in segments)
    buckets = max(1, (max_points - 2) // 2)
    width = n / buckets
    low_rows, high_rows, low_at, high_at, kept = [], [], [], [], []
    position = 0
    for segment in segments:
        if isinstance(segment, Rollup):
            bucket = min(buckets - 1, int(position / width))
            low_rows.append(segment.extremes[:1])
            high_rows.append(segment.extremes[1:])
            low_at.append(np.array([bucket]))
            high_at.append(np.array([bucket]))
            position += segment.count
            continue
        size = len(segment)
        pieces = max(1, round(size / width))
        at = extreme_indices(segment.value, pieces)
        rows = _rows(segment, at)
        piece_of = at // -(-size // pieces)
        bucket_of = np.minimum(buckets - 1, ((position + piece_of * (size / pieces)) / width).astype(np.intp))
        low_rows.append(rows)
        high_rows.append(rows)
        low_at.append(bucket_of)
        high_at.append(bucket_of)
        kept.append(_rows(segment, np.flatnonzero(~np.isfinite(segment.value))))
        position += size
    first, last = segments[0], segments[-1]
    assert isinstance(first, Series) and isinstance(last, Series), "the first and last segments must be read in full"
    kept += [_rows(first, np.array([0])), _rows(last, np.array([len(last) - 1]))]
    lows = _pick(np.concatenate(low_rows), np.concatenate(low_at), highest=False)
    highs = _pick(np.concatenate(high_rows), np.concatenate(high_at), highest=True)
    chosen = np.concatenate([*kept, lows, highs])
    _, unique = np.unique(chosen[:, 0], return_index=True)  # sorted by step, each step once
    chosen = chosen[unique]
    return Series(
        chosen[:, 0].astype(np.int64),
        chosen[:, 1].astype(np.int64),
        chosen[:, 2].astype(np.float64),
        chosen[:, 3].astype(np.float64),
    )
