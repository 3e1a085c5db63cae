"""Per-step points kept on the device until a flush: each step's train_loss is copied into a device buffer (no host
sync), and the buffer is read back with one `.tolist()` per flush.

The values are the very tensors the loop used to `.item()` one at a time (the window's mean, in its own dtype), so
the recorded floats are the same bit for bit; only when they reach the host changes.
"""

from dataclasses import dataclass

import torch

CAPACITY = 1024  # points held before a flush is forced: 4 KiB of float32 on the device
FLUSH_SECONDS = 0.25  # at most this long between flushes, so a live view lags the loop by no more


@dataclass(frozen=True)
class StepPoint:
    """A per-step point read back from the device: its step and epoch, train_loss, running time and learning rate."""

    step: int
    epoch: int
    value: float
    time: float
    lr: float


class StepBuffer:
    """train_loss per step on the device, with the host-side facts of each step beside it."""

    def __init__(self, like: torch.Tensor, *, capacity: int | None = None) -> None:
        self.capacity = capacity or CAPACITY
        self.values = torch.empty(self.capacity, dtype=like.dtype, device=like.device)
        self._facts: list[tuple[int, int, float, float]] = []  # (step, epoch, time, lr) of each held value
        self.since: float | None = None  # the time of the oldest held point

    def __len__(self) -> int:
        return len(self._facts)

    def add(self, value: torch.Tensor, *, step: int, epoch: int, time: float, lr: float) -> None:
        """Hold one step's value (a 0-d device tensor): a device copy, no sync."""
        self.values[len(self._facts)] = value
        self._facts.append((step, epoch, time, lr))
        if self.since is None:
            self.since = time

    def due(self, now: float) -> bool:
        """Whether the buffer is full or has held points for FLUSH_SECONDS."""
        held = len(self._facts)
        return held >= self.capacity or (self.since is not None and now - self.since >= FLUSH_SECONDS)

    def drain(self) -> list[StepPoint]:
        """The held points in step order, read back with one host sync; the buffer is empty after."""
        facts, self._facts, self.since = self._facts, [], None
        if not facts:
            return []
        values = self.values[: len(facts)].tolist()
        return [StepPoint(s, e, v, t, lr) for (s, e, t, lr), v in zip(facts, values, strict=True)]
