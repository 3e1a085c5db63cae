"""The training loop: data on the device, shuffled index slices, metrics accumulated on the device.

The host syncs once per epoch (one `.tolist()` of every metric), and the recorder is asked between steps whether to
stop, which costs a clock read unless a flush is due.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from core.fit import head_size
from core.metrics import Point
from core.spec import JobSpec
from worker.data import Split, TensorData, load_data
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
        """Whether the loop must stop (cancel, shutdown, time limit); called between steps, so it must be cheap."""


class Checkpointer(Protocol):
    """Where the loop saves its state: at the end of an epoch when due, and whenever it stops early."""

    def due(self) -> bool:
        """Whether an end-of-epoch checkpoint is due."""

    def save(self, state: dict[str, Any]) -> None:
        """Persist this state."""


class TrainingFailed(Exception):
    """Training cannot go on; the message is for the person who submitted the job."""

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """How the loop ended: it ran every epoch, or it stopped early because the recorder said so."""

    status: Literal["succeeded", "stopped"]
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
        return TrainingFailed(
            f"diverged: train_loss is not finite at epoch {epoch} (step {step}); {hint}", reason="diverged"
        )
    value, at = last_finite
    return TrainingFailed(
        f"diverged: train_loss is not finite at epoch {epoch} (step {step}); the last finite train_loss was "
        f"{value:.6g} at step {at}; {hint}",
        reason="diverged",
    )


@dataclass
class _Run:
    """Everything one training run holds: data, model, objective, optimizer, schedule, shuffling generator."""

    data: TensorData
    model: nn.Module
    objective: Objective
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler | None
    shuffle: torch.Generator
    batch_size: int
    classify: bool


@dataclass
class _Position:
    """Where the loop is: completed epochs and steps, and, inside an epoch, its order, next batch and sums so far."""

    epoch: int = 0
    step: int = 0
    elapsed: float = 0.0
    last_finite: tuple[float, int] | None = None
    order: torch.Tensor | None = None
    next_batch: int | None = None  # None: at an epoch boundary
    loss_sum: torch.Tensor | None = None
    correct: torch.Tensor | None = None


def _build(spec: JobSpec, device: torch.device) -> _Run:
    torch.manual_seed(spec.seed)
    data = load_data(spec.dataset, seed=spec.seed, device=device)
    model = build_model(spec.model, input_shape=data.facts.input_shape, n_out=head_size(spec)).to(device)
    optimizer = build_optimizer(spec.optimizer, model.parameters())
    n = len(data.train)
    return _Run(
        data=data,
        model=model,
        objective=build_objective(spec.loss, device=device),
        optimizer=optimizer,
        scheduler=build_scheduler(spec.scheduler, optimizer, epochs=spec.epochs),
        shuffle=torch.Generator(device=device).manual_seed(spec.seed),
        batch_size=min(spec.batch_size or n, n),
        classify=data.facts.task != "regression",
    )


def _state(run: _Run, at: _Position) -> dict[str, Any]:
    """A checkpoint: tensors, numbers and strings only, so it loads with weights_only=True."""
    state: dict[str, Any] = {
        "epoch": at.epoch,
        "step": at.step,
        "elapsed": at.elapsed,
        "last_finite": list(at.last_finite) if at.last_finite else None,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
        "rng_torch": torch.get_rng_state(),
        "rng_shuffle": run.shuffle.get_state(),
        "next_batch": at.next_batch,
    }
    if at.next_batch is not None:
        state.update(order=at.order, loss_sum=at.loss_sum, correct=at.correct)
    return state


def _restore(run: _Run, state: dict[str, Any]) -> _Position:
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state["scheduler"] is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_torch"].cpu())
    run.shuffle.set_state(state["rng_shuffle"].cpu())
    last = state["last_finite"]
    return _Position(
        epoch=int(state["epoch"]),
        step=int(state["step"]),
        elapsed=float(state["elapsed"]),
        last_finite=(float(last[0]), int(last[1])) if last else None,
        order=state.get("order"),
        next_batch=state["next_batch"],
        loss_sum=state.get("loss_sum"),
        correct=state.get("correct"),
    )


def _epoch_points(run: _Run, at: _Position, n: int, lr: float) -> list[Point]:
    assert at.loss_sum is not None and at.correct is not None
    values = [at.loss_sum / n, at.correct / n]
    if run.data.val is not None:
        values += _evaluate(run.model, run.data.val, run.objective, run.classify)
    synced = torch.stack(values).tolist()  # the one host sync of the epoch
    names: list[str | None] = ["train_loss", "train_accuracy"] if run.classify else ["train_loss", None]
    if run.data.val is not None:
        names += ["val_loss", "val_accuracy"] if run.classify else ["val_loss", "val_mae", "val_rmse"]
    epoch = at.epoch + 1
    points = [Point(name, at.step, epoch, value, at.elapsed) for name, value in zip(names, synced, strict=True) if name]
    return [*points, Point("lr", at.step, epoch, lr, at.elapsed)]


def train(
    spec: JobSpec,
    recorder: Recorder,
    *,
    device: torch.device,
    clock: Callable[[], float] = time.monotonic,
    checkpointer: Checkpointer | None = None,
    resume: dict[str, Any] | None = None,
) -> Outcome:
    """Train the spec's model from the start or from a checkpoint, sending every epoch's metrics to the recorder."""
    started = clock()
    run = _build(spec, device)
    at = _restore(run, resume) if resume is not None else _Position()
    offset = at.elapsed  # the job's running time before this attempt
    x, y = run.data.train.x, run.data.train.y
    n = len(run.data.train)
    while at.epoch < spec.epochs:
        run.model.train()
        lr = float(run.optimizer.param_groups[0]["lr"])
        if at.next_batch is None:  # a new epoch, not one resumed from its middle
            at.order = torch.randperm(n, generator=run.shuffle, device=device) if run.batch_size < n else None
            at.loss_sum = torch.zeros((), device=device)
            at.correct = torch.zeros((), device=device)
        assert at.loss_sum is not None and at.correct is not None
        for first in range(at.next_batch or 0, n, run.batch_size):
            if recorder.should_stop():
                at.next_batch, at.elapsed = first, offset + clock() - started
                if checkpointer is not None:
                    checkpointer.save(_state(run, at))
                return Outcome("stopped", at.epoch, at.step)
            if at.order is None:
                xb, yb = x, y
            else:
                index = at.order[first : first + run.batch_size]
                xb, yb = x[index], y[index]
            run.optimizer.zero_grad(set_to_none=True)
            output = run.model(xb)
            loss = run.objective.loss(output, run.objective.targets(yb))
            loss.backward()
            run.optimizer.step()
            at.step += 1
            at.loss_sum += run.objective.total(loss.detach(), len(xb))
            if run.classify:
                at.correct += (run.objective.predict(output.detach()) == yb).sum()
        if run.scheduler is not None:
            run.scheduler.step()
        at.elapsed = offset + clock() - started
        points = _epoch_points(run, at, n, lr)
        at.epoch, at.next_batch = at.epoch + 1, None
        recorder.record(points, epoch=at.epoch, step=at.step)
        train_loss = points[0].value
        if not math.isfinite(train_loss):
            raise _diverged(at.epoch, at.step, at.last_finite)
        at.last_finite = (train_loss, at.step)
        if checkpointer is not None and checkpointer.due():
            checkpointer.save(_state(run, at))
    return Outcome("succeeded", at.epoch, at.step)
