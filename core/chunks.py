"""Packed chunks of a metric series: CHUNK_POINTS points as four byte strings, plus a rollup of its extremes.

A history of a million points is a thousand rows of packed arrays instead of a million rows: reading it is a join of
bytes and one numpy view per column, and a downsampled read needs only each chunk's rollup (its minimum and maximum
points) unless a chunk holds non-finite values, which are always kept.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.buckets import bucket_of, bucket_width, buckets_for, ceil_div
from core.metrics import Series, extreme_indices, within

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


def pack_all(series: Series) -> list[PackedChunk]:
    """The points as chunks of CHUNK_POINTS, the last one holding what is left (none when the series is empty)."""
    return [pack(series.take(slice(at, at + CHUNK_POINTS))) for at in range(0, len(series), CHUNK_POINTS)]


@dataclass(frozen=True)
class Segments:
    """A series as consecutive segments: each a chunk known only by its size and rollup, or points read in full."""

    counts: NDArray[np.int64]  # the size of each segment
    rollups: NDArray[np.float64]  # (segments, 2, 4): each segment's minimum and maximum points (unused where loaded)
    loaded: dict[int, Series]  # the segments read in full, by position

    def between(self, after_step: int, through_step: int | None) -> "Segments":
        """Only the points with after_step < step <= through_step; the segments at the window's edges are loaded."""
        loaded = {at: series.between(after_step, through_step) for at, series in self.loaded.items()}
        return Segments(self.counts, self.rollups, loaded)


def _rows(series: Series, at: NDArray[np.intp]) -> NDArray[np.float64]:
    return np.stack([series.step[at], series.epoch[at], series.value[at], series.time[at]], axis=1).astype(np.float64)


def _pick(candidates: NDArray[np.float64], buckets: NDArray[np.intp], *, highest: bool) -> NDArray[np.float64]:
    """Of the candidate points, the lowest (or highest) value in each bucket; the earliest step on a tie."""
    finite = np.isfinite(candidates[:, 2])
    candidates, buckets = candidates[finite], buckets[finite]
    if candidates.shape[0] == 0:
        return candidates
    keys = -candidates[:, 2] if highest else candidates[:, 2]
    order = np.lexsort((candidates[:, 0], keys, buckets))
    _, first = np.unique(buckets[order], return_index=True)
    return candidates[order[first]]


def downsample_segments(segments: Segments, max_points: int) -> Series:
    """The shape-keeping subset (see core.metrics.keep_shape) of a series given as segments.

    The first and last segments must be read in full, and so must any chunk with non-finite values, which are all
    kept. Each bucket of about n / buckets points keeps its minimum and maximum, so the global extremes survive; a
    chunk falls in the bucket where it starts. Deterministic for the same stored chunks. The numbers: core.buckets.
    """
    counts = segments.counts.copy()
    for at, series in segments.loaded.items():
        counts[at] = len(series)
    n = int(counts.sum())
    nonfinite = sum(int(np.count_nonzero(~np.isfinite(s.value))) for s in segments.loaded.values())
    buckets = buckets_for(max_points, nonfinite)
    width = bucket_width(n, buckets)
    starts = np.cumsum(counts) - counts  # each segment's first position in the window
    rolled = np.ones(len(counts), bool)
    rolled[list(segments.loaded)] = False
    # A rolled-up chunk is known only by its extremes: both go to the bucket its first point falls in.
    lows, highs = [segments.rollups[rolled, 0]], [segments.rollups[rolled, 1]]
    in_bucket: list[NDArray[np.intp]] = [bucket_of(starts, width, buckets)[rolled]]
    kept = []
    for index, series in segments.loaded.items():
        # A loaded segment is cut into pieces about one bucket wide, and each piece's extremes are placed at the
        # piece's nominal start (segment start + piece number * len / pieces) to find the bucket they go to.
        pieces = max(1, round(len(series) / width))
        found = extreme_indices(series.value, pieces)
        where = starts[index] + (found // ceil_div(len(series), pieces)) * (len(series) / pieces)
        lows.append(_rows(series, found))
        highs.append(lows[-1])
        in_bucket.append(bucket_of(where, width, buckets))
        kept.append(_rows(series, np.flatnonzero(~np.isfinite(series.value))))
    first, last = segments.loaded[0], segments.loaded[len(counts) - 1]
    kept += [_rows(first, np.array([0])), _rows(last, np.array([len(last) - 1]))]
    chosen = np.concatenate(
        [
            *kept,
            _pick(np.concatenate(lows), np.concatenate(in_bucket), highest=False),
            _pick(np.concatenate(highs), np.concatenate(in_bucket), highest=True),
        ]
    )
    _, unique = np.unique(chosen[:, 0], return_index=True)  # sorted by step, each step once
    chosen = chosen[unique]
    kept_shape = Series(
        chosen[:, 0].astype(np.int64),
        chosen[:, 1].astype(np.int64),
        chosen[:, 2].astype(np.float64),
        chosen[:, 3].astype(np.float64),
    )
    return within(kept_shape, max_points)
