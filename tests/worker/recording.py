"""A recorder that keeps points in memory, and a helper that trains a raw spec on the CPU."""

from typing import Any

import torch

from core.metrics import Point
from core.spec import JobSpec
from core.states import StopReason
from worker.engine import Outcome, train

CPU = torch.device("cpu")


class ListRecorder:
    """Keeps every point in memory; can ask the loop to stop after a number of checks."""

    def __init__(self, stop_after_checks: int | None = None) -> None:
        self.points: list[Point] = []
        self.progress: list[tuple[int, int]] = []
        self.checks = 0
        self.stop_after_checks = stop_after_checks

    def record(self, points: list[Point], *, epoch: int, step: int) -> None:
        self.points += points
        self.progress.append((epoch, step))

    def should_stop(self) -> StopReason | None:
        self.checks += 1
        stop = self.stop_after_checks is not None and self.checks > self.stop_after_checks
        return "cancelled" if stop else None

    def series(self, name: str) -> list[float]:
        return [p.value for p in self.points if p.name == name]

    def steps(self, name: str) -> list[int]:
        return [p.step for p in self.points if p.name == name]

    def names(self) -> set[str]:
        return {p.name for p in self.points}

    def last(self) -> dict[str, float]:
        """Each metric's last value."""
        return {p.name: p.value for p in self.points}


def run(raw: dict[str, Any], recorder: ListRecorder | None = None) -> tuple[Outcome, ListRecorder]:
    """Train a raw spec on the CPU; the outcome and everything recorded."""
    recorder = recorder or ListRecorder()
    return train(JobSpec.model_validate(raw), recorder, device=CPU), recorder
