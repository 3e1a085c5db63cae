"""The training loop: data on the device, shuffled index slices, metrics accumulated on the device.

The host syncs once per epoch (one `.tolist()` of every metric), and the recorder is asked between steps whether to
stop, which costs a clock read unless a flush is due.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import nn

from core.fit import head_size
from core.metrics import Point
from core.spec import JobSpec
from worker.data import Split, load_data
from worker.losses import Objective, build_objective
from worker.models import build_model
from worker.optim import build_optimizer, build_scheduler

log = logging.getLogger(__name__)
EVAL_CHUNK = 8192


class Recorder(Protocol):
    """Where the loop sends its points, and whom it asks whether to stop."""

    def record(self, points: list[Point], *, epoch: int, step: int) -> None:
        """Take one epoch's points."""

    def should_stop(self) -> bool:
        """Whether the job was cancelled; called between steps, so it must be cheap."""


class TrainingFailed(Exception):
    """Training cannot go on; the message is for the person who submitted the job."""


@dataclass(frozen=True)
class Outcome:
    """How the loop ended."""

    status: Literal["succeeded", "cancelled"]
    epochs: int
    steps: int


def resolve_device(requested: str) -> torch.device:
    """The device to train on: CUDA when asked for or, for 'auto', when present; else the CPU."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainingFailed("the spec asks for device 'cuda' but this worker has no CUDA device: use 'auto' or 'cpu'")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


@torch.no_grad()
def _evaluate(model: nn.Module, split: Split, objective: Objective, classify: bool) -> list[torch.Tensor]:
    """Validation metrics as 0-d device tensors: loss, then accuracy or MAE and RMSE."""
    model.eval()
    output = torch.cat([model(split.x[i : i + EVAL_CHUNK]) for i in range(0, len(split), EVAL_CHUNK)])
    loss = objective.total(objective.loss(output, objective.targets(split.y)), len(split)) / len(split)
    if classify:
        return [loss, (objective.predict(output) == split.y).float().mean()]
    error = output - split.y
    return [loss, error.abs().mean(), error.square().mean().sqrt()]


def _diverged(epoch: int, step: int, last_finite: tuple[float, int] | None) -> TrainingFailed:
    hint = "lower the learning rate, or set the dataset's normalize to 'standard'"
    if last_finite is None:
        return TrainingFailed(f"diverged: train_loss is not finite at epoch {epoch} (step {step}); {hint}")
    value, at = last_finite
    return TrainingFailed(
        f"diverged: train_loss is not finite at epoch {epoch} (step {step}); the last finite train_loss was "
        f"{value:.6g} at step {at}; {hint}"
    )


def train(
    spec: JobSpec, recorder: Recorder, *, device: torch.device, clock: Callable[[], float] = time.monotonic
) -> Outcome:
    """Train the spec's model and send every epoch's metrics to the recorder."""
    started = clock()
    torch.manual_seed(spec.seed)
    data = load_data(spec.dataset, seed=spec.seed, device=device)
    classify = data.facts.task != "regression"
    model = build_model(spec.model, input_shape=data.facts.input_shape, n_out=head_size(spec)).to(device)
    objective = build_objective(spec.loss, device=device)
    optimizer = build_optimizer(spec.optimizer, model.parameters())
    scheduler = build_scheduler(spec.scheduler, optimizer, epochs=spec.epochs)
    shuffle = torch.Generator(device=device).manual_seed(spec.seed)
    x, y = data.train.x, data.train.y
    n = len(data.train)
    batch_size = min(spec.batch_size or n, n)
    step, last_finite = 0, None
    for epoch in range(1, spec.epochs + 1):
        model.train()
        lr = float(optimizer.param_groups[0]["lr"])
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        order = torch.randperm(n, generator=shuffle, device=device) if batch_size < n else None
        for first in range(0, n, batch_size):
            if recorder.should_stop():
                return Outcome("cancelled", epoch - 1, step)
            if order is None:
                xb, yb = x, y
            else:
                index = order[first : first + batch_size]
                xb, yb = x[index], y[index]
            optimizer.zero_grad(set_to_none=True)
            output = model(xb)
            loss = objective.loss(output, objective.targets(yb))
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += objective.total(loss.detach(), len(xb))
            if classify:
                correct += (objective.predict(output.detach()) == yb).sum()
        if scheduler is not None:
            scheduler.step()
        values = [loss_sum / n, correct / n]
        if data.val is not None:
            values += _evaluate(model, data.val, objective, classify)
        synced = torch.stack(values).tolist()  # the one host sync of the epoch
        names = ["train_loss", "train_accuracy"] if classify else ["train_loss", None]
        if data.val is not None:
            names += ["val_loss", "val_accuracy"] if classify else ["val_loss", "val_mae", "val_rmse"]
        elapsed = clock() - started
        points = [Point(name, step, epoch, value, elapsed) for name, value in zip(names, synced, strict=True) if name]
        points.append(Point("lr", step, epoch, lr, elapsed))
        recorder.record(points, epoch=epoch, step=step)
        train_loss = synced[0]
        if not math.isfinite(train_loss):
            raise _diverged(epoch, step, last_finite)
        last_finite = (train_loss, step)
    return Outcome("succeeded", spec.epochs, step)
