"""The arithmetic of a downsampled history, in one place: how many buckets a `max_points` budget buys, which bucket a
point falls in, and when a long series is downsampled from its chunks' rollups instead of its points.

A downsampled series keeps
- its first and last points (2),
- the finite minimum and maximum of each bucket (2 per bucket), so the global extremes always survive, and
- its non-finite points (where a run diverged), up to half of the budget.
With B buckets and F non-finite points that is 2 + 2B + F points, so B = (max_points - 2 - F) // 2 pairs fit the
budget (`pairs_for`, `buckets_for`), with F counted up to max_points // 2. A budget of 2 or 3 leaves room for no
pair, yet one bucket is still kept; core.metrics.within then cuts the kept points to exactly max_points at most, in
the order first and last, the first non-finite point, the minimum and the maximum, then the rest evenly.

Buckets are equal runs of points, not of steps (a step axis with gaps would leave buckets empty). A series in memory
(core.metrics.keep_shape) cuts its interior points into buckets of ceil(n / B) whole points (`ceil_div`), the last
one shorter. A series read as chunks (core.chunks.downsample_segments) knows most chunks only by their size, so its
n points make buckets of n / B points (`bucket_width`, fractional, so B buckets tile the n points exactly), and the
point at position i of the window falls in bucket floor(i / width), the last bucket taking any rounding overflow
(`bucket_of`). Both keep the same kind of points; the chunked one may pick others where a chunk straddles buckets.

A long series is stored as chunks of CHUNK_POINTS points, each with a rollup (its minimum and maximum points). Its two
end chunks are always read in full (they hold the first and last points, and the window's edges cut them). It is
downsampled from the rollups of the chunks between them when there are at least as many of those as pairs; with
fewer, the rollups are too coarse to fill every bucket, so the series is read in full (`reads_rollups`).
"""

import numpy as np
from numpy.typing import NDArray


def pairs_for(max_points: int) -> int:
    """How many (minimum, maximum) pairs fit in max_points beside the first and last points."""
    return (max_points - 2) // 2


def buckets_for(max_points: int, nonfinite: int = 0) -> int:
    """How many buckets a series downsampled to max_points points is cut into (at least one), leaving room for its
    non-finite points, which may take up to half of the budget."""
    return max(1, pairs_for(max_points - min(nonfinite, max_points // 2)))


def reads_rollups(chunks: int, max_points: int) -> bool:
    """Whether a series of this many stored chunks is downsampled from their rollups rather than read in full."""
    return chunks - 2 >= pairs_for(max_points)


def bucket_width(n: int, buckets: int) -> float:
    """Points per bucket when n points are cut into this many equal buckets (fractional: they tile n exactly)."""
    return n / buckets


def bucket_of(positions: NDArray[np.float64] | NDArray[np.int64], width: float, buckets: int) -> NDArray[np.intp]:
    """The bucket of each point position in the window (the last bucket takes the rounding overflow)."""
    return np.minimum(buckets - 1, (positions / width).astype(np.intp))


def ceil_div(n: int, d: int) -> int:
    """n / d rounded up: the length of each of d equal pieces that cover n items (the last one may be shorter)."""
    return -(-n // d)
