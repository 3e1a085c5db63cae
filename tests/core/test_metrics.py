"""Downsampling keeps a series' shape; summaries merge correctly."""

import math

from core.metrics import Series, downsample


def series(values: list[float]) -> Series:
    result = Series()
    for i, value in enumerate(values, start=1):
        result.append(i, i, value, float(i))
    return result


def test_short_series_are_returned_whole() -> None:
    s = series([3.0, 2.0, 1.0])
    assert downsample(s, 10) is s


def test_downsample_keeps_first_last_extremes_and_non_finite_points() -> None:
    values = [math.sin(i / 50) for i in range(10_000)]
    values[1234] = 5.0
    values[4321] = -5.0
    values[7000] = math.nan
    small = downsample(series(values), 100)
    assert len(small.step) <= 100 + 1
    assert small.step[0] == 1 and small.step[-1] == 10_000
    assert 1235 in small.step and 4322 in small.step and 7001 in small.step
    assert small.step == sorted(small.step)
    assert max(v for v in small.value if v is not None and math.isfinite(v)) == 5.0


def test_downsample_is_deterministic() -> None:
    values = [((i * 7919) % 101) / 100 for i in range(5000)]
    assert downsample(series(values), 50).as_dict() == downsample(series(values), 50).as_dict()
