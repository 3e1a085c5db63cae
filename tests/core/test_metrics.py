"""Downsampling keeps a series' shape (in memory and from chunk rollups); summaries match point-by-point merging."""

import math

import numpy as np
import pytest

from core.chunks import CHUNK_POINTS, Segments, downsample_segments, rollup_of, split, unpack
from core.metrics import Series, downsample, merge_summaries, summary_of


def series(values: list[float]) -> Series:
    return Series.of((i, i, value, float(i)) for i, value in enumerate(values, start=1))


def wavy(n: int) -> list[float]:
    values = [math.sin(i / 50) for i in range(n)]
    values[1234] = 5.0
    values[4321] = -5.0
    values[7000] = math.nan
    values[7001] = math.inf
    return values


def test_short_series_are_returned_whole() -> None:
    s = series([3.0, 2.0, 1.0])
    assert downsample(s, 10) is s


def test_downsample_keeps_first_last_extremes_and_non_finite_points() -> None:
    small = downsample(series(wavy(10_000)), 100)
    steps = small.step.tolist()
    assert len(steps) <= 100 + 2
    assert steps[0] == 1 and steps[-1] == 10_000
    assert {1235, 4322, 7001, 7002} <= set(steps)
    assert steps == sorted(set(steps))
    assert np.nanmax(np.where(np.isfinite(small.value), small.value, np.nan)) == 5.0


def test_every_bucket_keeps_its_minimum_and_maximum() -> None:
    values = [float((i * 7919) % 1000) for i in range(10_000)]
    small = downsample(series(values), 202)  # 100 buckets of 100 points between the first and the last
    for bucket in range(100):
        inside = values[1 + bucket * 100 : 1 + (bucket + 1) * 100]
        kept = [
            v
            for s, v in zip(small.step.tolist(), small.value.tolist(), strict=True)
            if 2 + bucket * 100 <= s <= 101 + bucket * 100
        ]
        assert min(inside) in kept and max(inside) in kept


def test_downsample_is_deterministic() -> None:
    values = [((i * 7919) % 101) / 100 for i in range(5000)]
    assert downsample(series(values), 50).to_lists() == downsample(series(values), 50).to_lists()


def test_chunks_round_trip_bit_for_bit() -> None:
    values = [math.sin(i) for i in range(2 * CHUNK_POINTS + 17)]
    values[5], values[1500] = math.nan, -math.inf
    whole = series(values)
    chunks, rest = split(whole)
    assert [c.count for c in chunks] == [CHUNK_POINTS, CHUNK_POINTS] and len(rest) == 17
    back = Series.concat(
        [
            unpack(
                [c.steps for c in chunks],
                [c.epochs for c in chunks],
                [c.values for c in chunks],
                [c.times for c in chunks],
            ),
            rest,
        ]
    )
    assert back.to_lists() == whole.to_lists()
    assert [c.nonfinite for c in chunks] == [1, 1] and chunks[0].first_step == 1 and chunks[1].last_step == 2000


def test_rollup_downsampling_keeps_the_same_guarantees() -> None:
    values = [math.sin(i / 3000) + 0.001 * ((i * 7919) % 13) for i in range(200_000)]
    values[123_456] = 9.0
    values[54_321] = -9.0
    values[150_000] = math.nan
    whole = series(values)
    chunks, _ = split(whole)
    pieces = [whole.take(slice(at, at + CHUNK_POINTS)) for at in range(0, len(whole), CHUNK_POINTS)]
    loaded = {i: p for i, (p, c) in enumerate(zip(pieces, chunks, strict=True)) if i in (0, 199) or c.nonfinite}
    counts = np.array([c.count for c in chunks], np.int64)
    segments = Segments(counts, np.stack([rollup_of(p) for p in pieces]), loaded)
    small = downsample_segments(segments, 100)
    steps = small.step.tolist()
    assert steps[0] == 1 and steps[-1] == 200_000 and steps == sorted(set(steps))
    assert {123_457, 54_322, 150_001} <= set(steps)
    assert len(steps) <= 100 + 1
    assert small.to_lists() == downsample_segments(segments, 100).to_lists()
    # the shape: the kept points' envelope follows the whole series' envelope
    assert np.nanmax(small.value) == 9.0 and np.nanmin(small.value) == -9.0


def _segments_of(whole: Series) -> Segments:
    """The series as the store reads it for a downsample: rollups, with the end chunks and non-finite ones loaded."""
    chunks, _ = split(whole)
    pieces = [whole.take(slice(at, at + CHUNK_POINTS)) for at in range(0, len(whole), CHUNK_POINTS)]
    last = len(pieces) - 1
    loaded = {i: p for i, (p, c) in enumerate(zip(pieces, chunks, strict=True)) if i in (0, last) or c.nonfinite}
    return Segments(np.array([c.count for c in chunks], np.int64), np.stack([rollup_of(p) for p in pieces]), loaded)


@pytest.mark.parametrize("max_points", [2, 3, 4, 5, 6, 7, 50, 101])
def test_max_points_is_a_hard_cap_that_keeps_the_ends_first(max_points: int) -> None:
    whole = series(wavy(10_000))  # its minimum at step 4322, maximum at 1235, first non-finite at 7001
    for small in (downsample(whole, max_points), downsample_segments(_segments_of(whole), max_points)):
        steps = small.step.tolist()
        assert len(steps) <= max_points and steps == sorted(set(steps))
        assert steps[0] == 1 and steps[-1] == 10_000
        assert set([1, 10_000, 7001, 4322, 1235][:max_points]) <= set(steps)  # in this order of priority


def test_a_series_mostly_non_finite_still_fits_max_points() -> None:
    values = [1.0 / i for i in range(1, 1001)] + [math.nan] * 9000  # diverged at step 1001
    for small in (downsample(series(values), 100), downsample_segments(_segments_of(series(values)), 100)):
        steps = small.step.tolist()
        assert len(steps) == 100 and {1, 1000, 1001, 10_000} <= set(steps)


@pytest.mark.parametrize("name", ["val_loss", "val_accuracy"])
def test_summaries_merged_part_by_part_equal_the_whole_series(name: str) -> None:
    values = [math.nan, 0.5, 0.2, math.nan, 0.9, 0.2, 0.7, math.inf]
    whole = series(values)
    expected = summary_of(whole, name=name)
    best = 0.9 if name == "val_accuracy" else 0.2
    assert expected == {
        "count": 8,
        "last": None,
        "last_step": 8,
        "min": 0.2,
        "max": 0.9,
        "best": best,
        "best_step": 5 if name == "val_accuracy" else 3,
    }
    for cut in range(1, 8):
        first = merge_summaries({}, {name: whole.take(slice(0, cut))})
        assert merge_summaries(first, {name: whole.take(slice(cut, None))}) == {name: expected}
