"""Where a run is, and its checkpoint: saved between any two steps, restored so the rest of the run is exactly what
an uninterrupted one would have done (model, optimizer, schedule, early stopping, loss scaling, every RNG, the
epoch's shuffled order and the sums accumulated so far)."""

from dataclasses import dataclass
from typing import Any

import torch

from worker.schedules import Schedule
from worker.steps import Stepper
from worker.stopping import EarlyStopper


class LossWindow:
    """The training loss summed on the device since the last recorded point; read with one host sync."""

    def __init__(self, device: torch.device) -> None:
        self.total = torch.zeros((), device=device)
        self.samples = 0

    def add(self, batch_total: torch.Tensor, batch_size: int) -> None:
        """Add one batch's summed loss."""
        self.total += batch_total
        self.samples += batch_size

    def mean(self) -> torch.Tensor:
        """The mean loss per sample since the last point, as a device tensor."""
        return self.total / max(self.samples, 1)

    def reset(self) -> None:
        """Start a new window, in a new tensor: the old total may be held (worker.step_points) until a flush."""
        self.total = torch.zeros_like(self.total)
        self.samples = 0


@dataclass
class RunPosition:
    """Completed epochs and steps, and inside an epoch its order, next batch and what has accumulated so far."""

    shuffle: torch.Generator
    window: LossWindow
    correct: torch.Tensor
    epoch: int = 0
    step: int = 0
    elapsed_before: float = 0.0  # running time of the attempts before this one
    last_finite: tuple[float, int] | None = None
    first_finite: float | None = None  # the run's first finite train_loss: what a blow-up is measured against
    order: torch.Tensor | None = None
    next_batch: int | None = None  # None: at an epoch boundary
    best_weights: dict[str, torch.Tensor] | None = None  # on the CPU, from the early stopper's best epoch


def save_state(
    at: RunPosition, stepper: Stepper, schedule: Schedule, stopper: EarlyStopper | None, *, elapsed: float
) -> dict[str, Any]:
    """A checkpoint: tensors, numbers and strings only, so it loads with weights_only=True."""
    state: dict[str, Any] = {
        "epoch": at.epoch,
        "step": at.step,
        "elapsed": elapsed,
        "last_finite": list(at.last_finite) if at.last_finite else None,
        "first_finite": at.first_finite,
        "model": stepper.model.state_dict(),
        "optimizer": stepper.optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "scaler": stepper.scaler.state_dict(),
        "stopper": [stopper.best, stopper.best_epoch] if stopper is not None else None,
        "rng_torch": torch.get_rng_state(),
        "rng_shuffle": at.shuffle.get_state(),
        "next_batch": at.next_batch,
        "best_weights": at.best_weights,  # a dict of tensors, or None: still weights_only
    }
    if stepper.device.type == "cuda":  # pairs and triplets are drawn with the device's generator
        state["rng_cuda"] = torch.cuda.get_rng_state(stepper.device)
    if at.next_batch is not None:
        state.update(order=at.order, window_total=at.window.total, window_samples=at.window.samples, correct=at.correct)
    return state


def restore_state(
    state: dict[str, Any], at: RunPosition, stepper: Stepper, schedule: Schedule, stopper: EarlyStopper | None
) -> None:
    """Put a run back where its checkpoint was taken."""
    stepper.model.load_state_dict(state["model"])
    stepper.optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    if state["scaler"]:
        stepper.scaler.load_state_dict(state["scaler"])
    if stopper is not None and state["stopper"] is not None:
        best, best_epoch = state["stopper"]
        stopper.best, stopper.best_epoch = (None if best is None else float(best)), int(best_epoch)
    torch.set_rng_state(state["rng_torch"].cpu())
    at.shuffle.set_state(state["rng_shuffle"].cpu())
    if "rng_cuda" in state and stepper.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng_cuda"].cpu(), stepper.device)
    last = state["last_finite"]
    at.epoch, at.step, at.elapsed_before = int(state["epoch"]), int(state["step"]), float(state["elapsed"])
    at.last_finite = (float(last[0]), int(last[1])) if last else None
    first = state.get("first_finite")  # absent from checkpoints written before the blow-up check
    at.first_finite = None if first is None else float(first)
    at.next_batch = state["next_batch"]
    best = state.get("best_weights")  # absent from checkpoints written before models were exported
    at.best_weights = None if best is None else {name: value.cpu() for name, value in best.items()}
    if at.next_batch is not None:
        at.order = state["order"]
        at.window.total, at.window.samples = state["window_total"], int(state["window_samples"])
        at.correct = state["correct"]
