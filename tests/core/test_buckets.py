"""The downsampling arithmetic: what a max_points budget buys, and how buckets tile a window."""

import numpy as np
import pytest

from core.buckets import bucket_of, bucket_width, buckets_for, ceil_div, pairs_for, reads_rollups
from core.metrics import Series, downsample


@pytest.mark.parametrize(("max_points", "buckets"), [(2, 1), (3, 1), (4, 1), (5, 1), (6, 2), (7, 2), (1000, 499)])
def test_a_budget_buys_one_min_max_pair_per_bucket_beside_the_ends(max_points: int, buckets: int) -> None:
    assert buckets_for(max_points) == buckets
    assert 2 + 2 * pairs_for(max_points) <= max_points


@pytest.mark.parametrize("max_points", [4, 6, 7, 50, 1000])
def test_a_downsampled_series_stays_within_its_budget(max_points: int) -> None:
    n = 10_000
    values = np.sin(np.arange(n) / 300.0) + np.random.default_rng(0).normal(0, 0.1, n)
    series = Series(np.arange(1, n + 1), np.arange(1, n + 1), values, np.zeros(n))
    kept = downsample(series, max_points)
    assert len(kept) <= 2 + 2 * buckets_for(max_points) <= max_points
    assert {float(values.min()), float(values.max())} <= set(kept.value.tolist())


def test_rollups_are_used_once_the_chunks_between_the_ends_cover_every_pair() -> None:
    assert reads_rollups(2 + pairs_for(100), 100)
    assert not reads_rollups(1 + pairs_for(100), 100)


@pytest.mark.parametrize(("n", "buckets"), [(10, 3), (1000, 7), (7, 7), (12_345, 499)])
def test_fractional_buckets_tile_the_window(n: int, buckets: int) -> None:
    sizes = np.bincount(bucket_of(np.arange(n), bucket_width(n, buckets), buckets), minlength=buckets)
    assert len(sizes) == buckets and sizes.sum() == n
    assert set(sizes.tolist()) <= {n // buckets, ceil_div(n, buckets)}
