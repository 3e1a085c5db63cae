"""Metric points, columnar series, per-metric summaries and shape-keeping downsampling (pure Python, no SQL)."""

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Point:
    """One metric value at one optimizer step."""

    name: str
    step: int
    epoch: int
    value: float
    time: float


@dataclass
class Series:
    """One metric's history as parallel columns, the contract's wire shape."""

    step: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    time: list[float] = field(default_factory=list)

    def append(self, step: int, epoch: int, value: float | None, time: float) -> None:
        """Add one point at the end."""
        self.step.append(step)
        self.epoch.append(epoch)
        self.value.append(value)
        self.time.append(time)

    def take(self, indices: list[int]) -> "Series":
        """The points at these indices, in order."""
        return Series(
            [self.step[i] for i in indices],
            [self.epoch[i] for i in indices],
            [self.value[i] for i in indices],
            [self.time[i] for i in indices],
        )

    def as_dict(self) -> dict[str, list[Any]]:
        """The wire shape: {"step": [...], "epoch": [...], "value": [...], "time": [...]}."""
        return {"step": self.step, "epoch": self.epoch, "value": self.value, "time": self.time}


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def downsample(series: Series, max_points: int) -> Series:
    """At most about max_points points that keep the series' shape.

    Min/max buckets: the first and last point, each bucket's minimum and maximum (so the global extremes survive),
    and every non-finite point, which is where a run diverged. Deterministic: the same input gives the same output.
    """
    n = len(series.step)
    if n <= max_points:
        return series
    keep = {0, n - 1}
    keep.update(i for i in range(n) if not _finite(series.value[i]))
    buckets = max(1, (max_points - 2) // 2)
    for b in range(buckets):
        lo, hi = 1 + b * (n - 2) // buckets, 1 + (b + 1) * (n - 2) // buckets
        finite = [i for i in range(lo, hi) if _finite(series.value[i])]
        if finite:
            keep.add(min(finite, key=lambda i: series.value[i]))  # type: ignore[arg-type,return-value]
            keep.add(max(finite, key=lambda i: series.value[i]))  # type: ignore[arg-type,return-value]
    return series.take(sorted(keep))


def maximizes(name: str) -> bool:
    """Whether a larger value of this metric is better (accuracies, F1, R^2) rather than smaller (losses, errors)."""
    return name.endswith(("accuracy", "precision", "recall", "f1", "r2"))


def merge_summary(summary: dict[str, Any], points: list[Point]) -> dict[str, Any]:
    """The per-metric summary (last, min, max, best and their steps, count) updated with new points."""
    merged = {name: dict(entry) for name, entry in summary.items()}
    for point in sorted(points, key=lambda p: p.step):
        entry = merged.setdefault(point.name, {"count": 0})
        entry["count"] += 1
        if point.step >= entry.get("last_step", 0):
            entry["last"], entry["last_step"] = (point.value if math.isfinite(point.value) else None), point.step
        if not math.isfinite(point.value):
            continue
        if entry.get("min") is None or point.value < entry["min"]:
            entry["min"] = point.value
        if entry.get("max") is None or point.value > entry["max"]:
            entry["max"] = point.value
        best = entry.get("best")
        better = best is None or (point.value > best if maximizes(point.name) else point.value < best)
        if better:
            entry["best"], entry["best_step"] = point.value, point.step
    return merged


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
