"""Early stopping: watch one recorded metric and say when it has not improved for `patience` epochs."""

import math
from collections.abc import Mapping

from core.metrics import better_is_higher
from core.spec import EarlyStopping


class EarlyStopper:
    """Tracks the best value of the watched metric; `should_stop` says why the run should end, or None."""

    def __init__(self, spec: EarlyStopping) -> None:
        self.spec = spec
        self.higher = better_is_higher(spec.metric, spec.mode)
        self.best: float | None = None
        self.best_epoch = 0

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        gain = value - self.best if self.higher else self.best - value
        return gain > self.spec.min_delta

    def should_stop(self, epoch: int, metrics: Mapping[str, float]) -> str | None:
        """After an epoch: the reason to stop now, or None to go on."""
        value = metrics[self.spec.metric]
        if math.isfinite(value) and self._improved(value):
            self.best, self.best_epoch = value, epoch
            return None
        if epoch - self.best_epoch < self.spec.patience:
            return None
        best = "no finite value" if self.best is None else f"best {self.best:.6g} at epoch {self.best_epoch}"
        return (
            f"stopped early at epoch {epoch}: {self.spec.metric} did not improve by more than {self.spec.min_delta:g} "
            f"for {self.spec.patience} epochs ({best})"
        )
