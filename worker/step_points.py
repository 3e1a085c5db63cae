"""Per-step points kept on the device until a flush: each step's loss window (its summed loss tensor and its sample
count) is held as it is, with no host sync and no tensor operation, and the held windows are turned into means and
read back with one division and one `.tolist()` per flush.

The means are the floats the loop used to `.item()` one at a time from `window.mean()`, bit for bit: the division is
done the way torch does `total / samples` on that device (see `_means`); only when they reach the host changes.
"""

from dataclasses import dataclass

import torch

CAPACITY = 1024  # points held before a flush is forced
FLUSH_SECONDS = 0.25  # at most this long between flushes, so a live view lags the loop by no more


@dataclass(frozen=True)
class StepPoint:
    """A per-step point read back from the device: its step and epoch, train_loss, running time and learning rate."""

    step: int
    epoch: int
    value: float
    time: float
    lr: float


def _means(totals: torch.Tensor, samples: list[int]) -> torch.Tensor:
    """Each total divided by its sample count, rounded as `total / samples` (a Python int divisor) rounds it."""
    counts = torch.tensor(samples, dtype=totals.dtype)  # exact: a window holds far fewer than 2**24 samples
    if totals.device.type == "cpu":
        return totals / counts  # the CPU divides (a / b), vectorised or not
    # On CUDA a division by a CPU scalar is a multiplication by its reciprocal, rounded to the dtype first.
    return totals * (1 / counts).to(totals.device)


class StepBuffer:
    """The loss windows of per-step points, on the device, with the host-side facts of each step beside them."""

    def __init__(self, *, capacity: int | None = None) -> None:
        self.capacity = capacity or CAPACITY
        self._totals: list[torch.Tensor] = []
        self._facts: list[tuple[int, int, int, float, float]] = []  # (step, epoch, samples, time, lr) of each
        self.since: float | None = None  # the time of the oldest held point

    def __len__(self) -> int:
        return len(self._facts)

    def add(self, total: torch.Tensor, samples: int, *, step: int, epoch: int, time: float, lr: float) -> None:
        """Hold one window: its 0-d summed loss (which the loop must not change after) and its sample count."""
        self._totals.append(total)
        self._facts.append((step, epoch, samples, time, lr))
        if self.since is None:
            self.since = time

    def due(self, now: float) -> bool:
        """Whether the buffer is full or has held points for FLUSH_SECONDS."""
        return len(self._facts) >= self.capacity or (self.since is not None and now - self.since >= FLUSH_SECONDS)

    def drain(self) -> list[StepPoint]:
        """The held points in step order, read back with one host sync; the buffer is empty after."""
        facts, totals, self._facts, self._totals, self.since = self._facts, self._totals, [], [], None
        if not facts:
            return []
        values = _means(torch.stack(totals), [samples for _, _, samples, _, _ in facts]).tolist()
        return [StepPoint(s, e, v, t, lr) for (s, e, _, t, lr), v in zip(facts, values, strict=True)]
