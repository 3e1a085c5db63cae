"""Metric points, columnar series (numpy), per-metric summaries and shape-keeping downsampling; no SQL here."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.buckets import buckets_for, ceil_div


@dataclass(frozen=True)
class Point:
    """One metric value at one optimizer step."""

    name: str
    step: int
    epoch: int
    value: float
    time: float


@dataclass(frozen=True)
class Series:
    """One metric's history as parallel numpy columns, the contract's wire shape; a missing value is NaN."""

    step: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    epoch: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    value: NDArray[np.float64] = field(default_factory=lambda: np.empty(0, np.float64))
    time: NDArray[np.float64] = field(default_factory=lambda: np.empty(0, np.float64))

    @classmethod
    def of(cls, rows: Iterable[tuple[int, int, float | None, float]]) -> "Series":
        """A series from (step, epoch, value, time) rows; a None value becomes NaN."""
        listed = list(rows)
        if not listed:
            return cls()
        steps, epochs, values, times = zip(*listed, strict=True)
        return cls(
            np.array(steps, np.int64),
            np.array(epochs, np.int64),
            np.array([math.nan if v is None else v for v in values], np.float64),
            np.array(times, np.float64),
        )

    @classmethod
    def concat(cls, parts: Sequence["Series"]) -> "Series":
        """The parts one after the other (they are in step order already)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls()
        return cls(
            np.concatenate([p.step for p in parts]),
            np.concatenate([p.epoch for p in parts]),
            np.concatenate([p.value for p in parts]),
            np.concatenate([p.time for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.step.shape[0])

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_] | slice) -> "Series":
        """The points at these indices (or this mask or slice), in order."""
        return Series(self.step[index], self.epoch[index], self.value[index], self.time[index])

    def between(self, after_step: int, through_step: int | None = None) -> "Series":
        """Only the points with after_step < step <= through_step (no upper bound when through_step is None)."""
        lo = int(np.searchsorted(self.step, after_step, side="right"))
        hi = len(self) if through_step is None else int(np.searchsorted(self.step, through_step, side="right"))
        return self if (lo, hi) == (0, len(self)) else self.take(slice(lo, hi))

    def as_dict(self) -> dict[str, NDArray[Any]]:
        """The wire shape: {"step": [...], "epoch": [...], "value": [...], "time": [...]} (encode with orjson's numpy
        option: NaN and infinities become null)."""
        return {"step": self.step, "epoch": self.epoch, "value": self.value, "time": self.time}

    def to_lists(self) -> dict[str, list[Any]]:
        """The wire shape as plain lists, non-finite values as None."""
        values = [v if math.isfinite(v) else None for v in self.value.tolist()]
        return {"step": self.step.tolist(), "epoch": self.epoch.tolist(), "value": values, "time": self.time.tolist()}


def extreme_indices(values: NDArray[np.float64], buckets: int) -> NDArray[np.intp]:
    """The index of each bucket's finite minimum and maximum, the values cut into this many equal buckets."""
    n = values.shape[0]
    if n == 0 or buckets <= 0:
        return np.empty(0, np.intp)
    # Whole-point buckets of ceil(n / buckets), padded past the end with values that never win, so one reshape
    # gives a (buckets, width) array whose argmin and argmax per row are each bucket's extremes.
    width = ceil_div(n, buckets)
    finite = np.isfinite(values)
    padded_low = np.full(buckets * width, np.inf)
    padded_low[:n] = np.where(finite, values, np.inf)
    padded_high = np.full(buckets * width, -np.inf)
    padded_high[:n] = np.where(finite, values, -np.inf)
    starts = np.arange(buckets) * width
    lows = starts + padded_low.reshape(buckets, width).argmin(axis=1)
    highs = starts + padded_high.reshape(buckets, width).argmax(axis=1)
    found = np.concatenate([lows[np.isfinite(padded_low[lows])], highs[np.isfinite(padded_high[highs])]])
    return found.astype(np.intp)


def keep_shape(series: Series, max_points: int) -> NDArray[np.intp]:
    """The indices that keep the series' shape in about max_points points: the first and last, each bucket's minimum
    and maximum (so the global extremes survive) and every non-finite point, where a run diverged. Deterministic.
    The numbers: core.buckets."""
    n = len(series)
    interior = series.value[1 : n - 1]
    nonfinite = 1 + np.flatnonzero(~np.isfinite(interior))
    keep = [np.array([0, n - 1]), nonfinite, 1 + extreme_indices(interior, buckets_for(max_points, len(nonfinite)))]
    return np.unique(np.concatenate(keep))


def _evenly(indices: NDArray[np.intp], count: int) -> NDArray[np.intp]:
    """`count` of these indices spread evenly from the first to the last (all of them when there are no more)."""
    if count >= len(indices):
        return indices
    if count <= 0:
        return indices[:0]
    return indices[np.linspace(0, len(indices) - 1, count).round().astype(np.intp)]


def within(series: Series, max_points: int) -> Series:
    """At most max_points of a shape-kept series: ends, first non-finite, extremes, then the rest evenly."""
    n = len(series)
    if n <= max_points:
        return series
    interior = np.arange(1, n - 1, dtype=np.intp)
    finite = np.isfinite(series.value[1:-1])
    finite_at, nonfinite_at = interior[finite], interior[~finite]
    first: list[int] = [0, n - 1] + ([int(nonfinite_at[0])] if len(nonfinite_at) else [])
    if len(finite_at):
        values = series.value[finite_at]
        first += [int(finite_at[values.argmin()]), int(finite_at[values.argmax()])]
    must = np.array(list(dict.fromkeys(first))[:max_points], dtype=np.intp)
    room = max_points - len(must)
    more_finite = _evenly(np.setdiff1d(finite_at, must), room)
    more_nonfinite = _evenly(np.setdiff1d(nonfinite_at, must), room - len(more_finite))
    return series.take(np.unique(np.concatenate([must, more_finite, more_nonfinite])))


def downsample(series: Series, max_points: int) -> Series:
    """At most max_points points that keep the series' shape (see keep_shape and within)."""
    if len(series) <= max_points:
        return series
    return within(series.take(keep_shape(series, max_points)), max_points)


def maximizes(name: str) -> bool:
    """Whether a larger value of this metric is better (accuracies, F1, R^2) rather than smaller (losses, errors)."""
    return name.endswith(("accuracy", "precision", "recall", "f1", "r2"))


def better_is_higher(metric: str, mode: str) -> bool:
    """Whether a larger value of the metric is better under this mode ('auto' goes by the metric's name)."""
    return maximizes(metric) if mode == "auto" else mode == "max"


METRIC_NAMES = (
    "train_loss",
    "val_loss",
    "lr",
    "train_accuracy",
    "val_accuracy",
    "val_top5_accuracy",
    "val_precision",
    "val_recall",
    "val_f1",
    "val_mae",
    "val_rmse",
    "val_r2",
    "train_centroid_accuracy",
    "val_centroid_accuracy",
    "val_ranking_accuracy",
)


def summary_of(series: Series, *, name: str) -> dict[str, Any]:
    """The per-metric summary of a whole series, computed in one pass."""
    n = len(series)
    if n == 0:
        return {"count": 0}
    last = float(series.value[-1])
    entry: dict[str, Any] = {
        "count": n,
        "last": last if math.isfinite(last) else None,
        "last_step": int(series.step[-1]),
    }
    finite = np.flatnonzero(np.isfinite(series.value))
    if finite.size == 0:
        return entry
    values = series.value[finite]
    best_at = finite[int(values.argmax() if maximizes(name) else values.argmin())]  # the first best, as on write
    entry |= {
        "min": float(values.min()),
        "max": float(values.max()),
        "best": float(series.value[best_at]),
        "best_step": int(series.step[best_at]),
    }
    return entry


def _combine(earlier: dict[str, Any], later: dict[str, Any], *, name: str) -> dict[str, Any]:
    """The summary of two stretches of one series, the later one's steps all after the earlier one's."""
    entry = {"count": earlier.get("count", 0) + later["count"], "last": later["last"], "last_step": later["last_step"]}
    if "min" not in earlier or "min" not in later:
        return entry | {k: v for k, v in (earlier | later).items() if k in ("min", "max", "best", "best_step")}
    entry |= {"min": min(earlier["min"], later["min"]), "max": max(earlier["max"], later["max"])}
    improves = later["best"] > earlier["best"] if maximizes(name) else later["best"] < earlier["best"]
    source = later if improves else earlier  # on a tie the earlier step stays best, as on a point-by-point scan
    return entry | {"best": source["best"], "best_step": source["best_step"]}


def merge_summaries(summary: dict[str, Any], history: dict[str, Series]) -> dict[str, Any]:
    """The per-metric summaries (last, min, max, best and their steps, count) updated with newer points."""
    merged = dict(summary)
    for name, series in history.items():
        if len(series):
            later = summary_of(series, name=name)
            merged[name] = _combine(summary[name], later, name=name) if name in summary else later
    return merged
