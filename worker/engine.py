"""The training loop: data on the device, shuffled index slices, metrics accumulated on the device.

The host syncs once per logged point: once per epoch (one `.tolist()` of every metric), plus once per
`log_every_steps` point when the spec asks for them. The recorder is asked between steps whether to stop, which
costs a clock read unless a flush is due.
"""

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import torch

from core.facts import head_size, recorded_metrics
from core.metrics import Point
from core.spec import JobSpec
from worker.data import TensorData, load_data
from worker.datasets.torchvision_files import DatasetMissing
from worker.evaluation import counts_correct, evaluate
from worker.losses import build_objective
from worker.metrics_compute import correct_count
from worker.models import build_model
from worker.optim import build_optimizer
from worker.schedules import build_schedule
from worker.steps import PrecisionUnavailable, Stepper
from worker.stopping import EarlyStopper

log = logging.getLogger(__name__)
EVALUATED_APART = ("val_loss", "val_centroid_accuracy")  # not from validation_metrics()


class Recorder(Protocol):
    """Where the loop sends its points, and whom it asks whether to stop."""

    def record(self, points: list[Point], *, epoch: int, step: int) -> None:
        """Take points; epoch and step are the progress so far (completed epochs, steps taken)."""

    def should_stop(self) -> bool:
        """Whether the job was cancelled; called between steps, so it must be cheap."""


class TrainingFailed(Exception):
    """Training cannot go on; the message is for the person who submitted the job."""


@dataclass(frozen=True)
class Outcome:
    """How the loop ended; a run ended by early stopping succeeded, and says why it stopped."""

    status: Literal["succeeded", "cancelled"]
    epochs: int
    steps: int
    stopped_early: bool = False
    reason: str | None = None


def resolve_device(requested: str) -> torch.device:
    """The device to train on: CUDA when asked for or, for 'auto', when present; else the CPU."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainingFailed("the spec asks for device 'cuda' but this worker has no CUDA device: use 'auto' or 'cpu'")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def _diverged(epoch: int, step: int, last_finite: tuple[float, int] | None) -> TrainingFailed:
    hint = "lower the learning rate, or set the dataset's normalize to 'standard'"
    if last_finite is None:
        return TrainingFailed(f"diverged: train_loss is not finite at epoch {epoch} (step {step}); {hint}")
    value, at = last_finite
    return TrainingFailed(
        f"diverged: train_loss is not finite at epoch {epoch} (step {step}); the last finite train_loss was "
        f"{value:.6g} at step {at}; {hint}"
    )


class LossWindow:
    """The training loss summed on the device since the last logged point; read with one host sync."""

    def __init__(self, device: torch.device) -> None:
        self.total = torch.zeros((), device=device)
        self.samples = 0
        self.last_finite: tuple[float, int] | None = None

    def add(self, batch_total: torch.Tensor, batch_size: int) -> None:
        """Add one batch's summed loss."""
        self.total += batch_total
        self.samples += batch_size

    def mean(self) -> torch.Tensor:
        """The mean loss per sample since the last point, as a device tensor."""
        return self.total / max(self.samples, 1)

    def reset(self, value: float, epoch: int, step: int) -> None:
        """Start a new window after a point with this value; fail when the value is not finite."""
        if not math.isfinite(value):
            raise _diverged(epoch, step, self.last_finite)
        self.last_finite = (value, step)
        self.total = torch.zeros_like(self.total)
        self.samples = 0


def _setup(spec: JobSpec, device: torch.device) -> tuple[Stepper, TensorData]:
    try:
        data = load_data(spec.dataset, seed=spec.seed, device=device)
    except DatasetMissing as exc:
        raise TrainingFailed(str(exc)) from exc
    model = build_model(spec.model, facts=data.facts, n_out=head_size(spec)).to(device)
    objective = build_objective(spec.loss, data.facts, device=device)
    optimizer = build_optimizer(spec.optimizer, model.parameters())
    try:
        return Stepper(model, optimizer, objective, spec, device), data
    except PrecisionUnavailable as exc:
        raise TrainingFailed(str(exc)) from exc


class Loop:
    """One job's training state: what a step and an epoch's end need, and where their points go."""

    def __init__(self, spec: JobSpec, recorder: Recorder, device: torch.device, clock: Callable[[], float]) -> None:
        self.spec, self.recorder, self.clock, self.started = spec, recorder, clock, clock()
        torch.manual_seed(spec.seed)
        self.stepper, self.data = _setup(spec, device)
        self.n = len(self.data.train)
        self.batch_size = min(spec.batch_size or self.n, self.n)
        steps_per_epoch = math.ceil(self.n / self.batch_size)
        self.total_steps = spec.epochs * steps_per_epoch
        self.schedule = build_schedule(spec, self.stepper.optimizer, steps_per_epoch=steps_per_epoch)
        self.stopper = EarlyStopper(spec.early_stopping) if spec.early_stopping else None
        self.names = [name for name in recorded_metrics(spec) if name != "lr"]
        self.val_names = [n for n in self.names if n.startswith("val_") and n not in EVALUATED_APART]
        self.shuffle = torch.Generator(device=device).manual_seed(spec.seed)
        self.window = LossWindow(device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.step, self.lr = 0, 0.0

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, bool]]:
        """One epoch of (inputs, targets, whether it is the epoch's last batch), shuffled by index slices."""
        x, y, n, size = self.data.train.x, self.data.train.y, self.n, self.batch_size
        if size >= n:
            yield x, y, True
            return
        order = torch.randperm(n, generator=self.shuffle, device=x.device)
        for first in range(0, n, size):
            index = order[first : first + size]
            yield x[index], y[index], first + size >= n

    def train_step(self, xb: torch.Tensor, yb: torch.Tensor, *, epoch: int, last_in_epoch: bool) -> None:
        """One optimizer step; a per-step point when the spec asks for one here."""
        objective = self.stepper.objective
        self.lr = float(self.stepper.optimizer.param_groups[0]["lr"])
        loss, output = self.stepper.step(xb, objective.prepare(yb))
        self.step += 1
        self.schedule.after_step(self.step, self.total_steps)
        self.window.add(objective.total(loss, len(xb)), len(xb))
        if counts_correct(objective):
            self.correct += correct_count(objective.readout(output), yb)
        every = self.spec.log_every_steps
        if every and self.step % every == 0 and not last_in_epoch:
            value = self.window.mean().item()  # the one host sync of a per-step point
            elapsed = self.clock() - self.started
            points = [
                Point("train_loss", self.step, epoch, value, elapsed),
                Point("lr", self.step, epoch, self.lr, elapsed),
            ]
            self.recorder.record(points, epoch=epoch - 1, step=self.step)
            self.window.reset(value, epoch, self.step)

    def end_epoch(self, epoch: int) -> Outcome | None:
        """Evaluate, record the epoch's points (one host sync), step the plateau schedule; an early stop's Outcome."""
        stepper = self.stepper
        values = {"train_loss": self.window.mean()}
        if counts_correct(stepper.objective):
            values["train_accuracy"] = self.correct / self.n
        values |= evaluate(stepper.model, self.data, stepper.objective, stepper.autocast, self.val_names)
        synced = dict(zip(self.names, torch.stack([values[k].float() for k in self.names]).tolist(), strict=True))
        elapsed = self.clock() - self.started
        points = [Point(name, self.step, epoch, value, elapsed) for name, value in synced.items()]
        self.recorder.record([*points, Point("lr", self.step, epoch, self.lr, elapsed)], epoch=epoch, step=self.step)
        self.window.reset(synced["train_loss"], epoch, self.step)
        self.correct.zero_()
        self.schedule.after_epoch(synced)
        reason = self.stopper.should_stop(epoch, synced) if self.stopper else None
        if reason is None:
            return None
        log.info("%s", reason)
        return Outcome("succeeded", epoch, self.step, stopped_early=True, reason=reason)


def train(
    spec: JobSpec, recorder: Recorder, *, device: torch.device, clock: Callable[[], float] = time.monotonic
) -> Outcome:
    """Train the spec's model and send every epoch's metrics (and per-step points when asked) to the recorder."""
    loop = Loop(spec, recorder, device, clock)
    for epoch in range(1, spec.epochs + 1):
        loop.stepper.model.train()
        for xb, yb, last_in_epoch in loop.batches():
            if recorder.should_stop():
                return Outcome("cancelled", epoch - 1, loop.step)
            loop.train_step(xb, yb, epoch=epoch, last_in_epoch=last_in_epoch)
        stopped = loop.end_epoch(epoch)
        if stopped is not None:
            return stopped
    return Outcome("succeeded", spec.epochs, loop.step)
