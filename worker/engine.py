"""The training loop: data on the device, shuffled index slices, metrics accumulated on the device.

The host syncs once per epoch (one `.tolist()` of every metric). Per-step points (`log_every_steps`) stay on the
device in a StepBuffer and reach the host once per flush: at most every FLUSH_SECONDS, when the buffer is full, at an
epoch's end and before a stop's checkpoint. The recorder is asked between steps whether to stop, which
costs a clock read unless a flush is due. A run can stop between any two steps and resume from its checkpoint with
the same history as an uninterrupted one. `channels_last` converts the model and the on-device dataset once, before
the first step; `compile` wraps only the training forward (see `Stepper`).
"""

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch

from core.facts import head_size, recorded_metrics
from core.metrics import Point
from core.spec import JobSpec
from core.states import EndReason, StopReason
from worker.data import TensorData, channels_last, load_data
from worker.datasets.torchvision_files import DatasetMissing
from worker.evaluation import counts_correct, evaluate
from worker.losses.objective import build_objective
from worker.metrics_compute import correct_count
from worker.models import build_model
from worker.optim import build_optimizer
from worker.schedules import build_schedule
from worker.step_points import StepBuffer
from worker.steps import PrecisionUnavailable, Stepper, forget_compiled
from worker.stopping import EarlyStopper
from worker.trained import Best, Trained, cpu_weights
from worker.training_state import LossWindow, RunPosition, restore_state, save_state

log = logging.getLogger(__name__)
EVALUATED_APART = ("val_loss", "val_centroid_accuracy")  # not from validation_metrics()


class Recorder(Protocol):
    """Where the loop sends its points, and whom it asks whether to stop."""

    def record(self, points: list[Point], *, epoch: int, step: int) -> None:
        """Take points; epoch and step are the progress so far (completed epochs, steps taken)."""

    def should_stop(self) -> StopReason | None:
        """Why the loop must stop now (cancel, shutdown, time limit, a newer attempt), or None; called between steps,
        so it must be cheap."""


class Checkpointer(Protocol):
    """Where the loop saves its state: at the end of an epoch when due, and whenever it stops early."""

    def due(self) -> bool:
        """Whether an end-of-epoch checkpoint is due."""

    def save(self, state: dict[str, Any]) -> None:
        """Persist this state."""


# A training loss a million times its first value (or a million, when it started below 1) has blown up, though it is
# still finite: L-BFGS without a line search on mini-batches went from 3.5e3 to 3.4e15 and "succeeded". Healthy runs
# only ever come down from their first value, or rise by small factors after a learning-rate warm-up.
BLOW_UP_FACTOR = 1e6


class TrainingFailed(Exception):
    """Training cannot go on; the message is for the person who submitted the job."""

    def __init__(self, message: str, *, reason: EndReason = "error") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """How the loop ended: it ran every epoch, early stopping ended it (succeeded, with the reason in words), or it
    stopped because the recorder said so (stopped_by: the recorder's answer, so no one has to ask it again).
    A succeeded run carries what its model's export needs (`trained`)."""

    status: Literal["succeeded", "stopped"]
    epochs: int
    steps: int
    stopped_early: bool = False
    reason: str | None = None
    pruned: bool = False  # a sweep's pruner stopped this trial (succeeded, like early stopping)
    stopped_by: StopReason | None = None
    trained: Trained | None = field(default=None, compare=False, repr=False)


def resolve_device(requested: str) -> torch.device:
    """The device to train on: CUDA when asked for or, for 'auto', when present; else the CPU."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainingFailed("the spec asks for device 'cuda' but this worker has no CUDA device: use 'auto' or 'cpu'")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def diverged(epoch: int, step: int, last_finite: tuple[float, int] | None) -> TrainingFailed:
    """The failure of a run whose training loss stopped being finite."""
    hint = "lower the learning rate, or set the dataset's normalize to 'standard'"
    where = f"diverged: train_loss is not finite at epoch {epoch} (step {step}); "
    if last_finite is None:
        return TrainingFailed(where + hint, reason="diverged")
    value, at = last_finite
    return TrainingFailed(where + f"the last finite train_loss was {value:.6g} at step {at}; {hint}", reason="diverged")


def blew_up(epoch: int, step: int, value: float, first: float) -> TrainingFailed:
    """The failure of a run whose training loss is still finite but has grown by orders of magnitude."""
    return TrainingFailed(
        f"diverged: train_loss is {value:.3g} at epoch {epoch} (step {step}), more than {BLOW_UP_FACTOR:.0e} times "
        f"its first value {first:.6g}; lower the learning rate, or set the dataset's normalize to 'standard'",
        reason="diverged",
    )


def _setup(spec: JobSpec, device: torch.device) -> tuple[Stepper, TensorData]:
    torch.manual_seed(spec.seed)
    try:
        data = load_data(spec.dataset, seed=spec.seed, device=device)
    except DatasetMissing as exc:
        raise TrainingFailed(str(exc), reason="dataset_missing") from exc
    model = build_model(spec.model, facts=data.facts, n_out=head_size(spec)).to(device)
    if spec.channels_last:  # the fit checks let it through for convolutional models on images only
        model, data = model.to(memory_format=torch.channels_last), channels_last(data)
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
        self.stepper, self.data = _setup(spec, device)
        self.n = len(self.data.train)
        self.batch_size = min(spec.batch_size or self.n, self.n)
        steps_per_epoch = math.ceil(self.n / self.batch_size)
        self.total_steps = spec.epochs * steps_per_epoch
        self.schedule = build_schedule(spec, self.stepper.optimizer, steps_per_epoch=steps_per_epoch)
        self.stopper = EarlyStopper(spec.early_stopping) if spec.early_stopping else None
        self.names = [name for name in recorded_metrics(spec) if name != "lr"]
        self.val_names = [n for n in self.names if n.startswith("val_") and n not in EVALUATED_APART]
        self.at = RunPosition(
            shuffle=torch.Generator(device=device).manual_seed(spec.seed),
            window=LossWindow(device),
            correct=torch.zeros((), device=device, dtype=torch.long),
        )
        self.lr = 0.0
        self.step_points = StepBuffer()

    def elapsed(self) -> float:
        """The job's running time, this attempt's and the attempts' before it."""
        return self.at.elapsed_before + self.clock() - self.started

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, int, bool]]:
        """The rest of this epoch: (inputs, targets, first index, whether it is the last batch), by index slices."""
        x, y, n, size, at = self.data.train.x, self.data.train.y, self.n, self.batch_size, self.at
        if at.next_batch is None:  # a new epoch, not one resumed from its middle
            at.order = torch.randperm(n, generator=at.shuffle, device=x.device) if size < n else None
            at.next_batch = 0
        for first in range(at.next_batch, n, size):
            at.next_batch = first
            if at.order is None:
                yield x, y, first, True
            else:
                index = at.order[first : first + size]
                yield x[index], y[index], first, first + size >= n

    def train_step(self, xb: torch.Tensor, yb: torch.Tensor, *, epoch: int, last_in_epoch: bool) -> None:
        """One optimizer step; a per-step point when the spec asks for one here."""
        objective, at = self.stepper.objective, self.at
        self.lr = float(self.stepper.optimizer.param_groups[0]["lr"])
        loss, output = self.stepper.step(xb, objective.prepare(yb))
        at.step += 1
        self.schedule.after_step(at.step, self.total_steps)
        at.window.add(objective.total(loss, len(xb)), len(xb))
        if counts_correct(objective):
            at.correct += correct_count(objective.readout(output), yb)
        every = self.spec.log_every_steps
        if every and at.step % every == 0 and not last_in_epoch:
            elapsed = self.elapsed()
            window = at.window
            # No sync and no tensor operation: the window's total is held as it is (reset makes a new tensor).
            self.step_points.add(window.total, window.samples, step=at.step, epoch=epoch, time=elapsed, lr=self.lr)
            window.reset()
            if self.step_points.due(elapsed):
                self.flush_steps()

    def flush_steps(self) -> None:
        """Record the held per-step points (one host sync), checked in step order as if each had been read alone: a
        point that diverged is the last one recorded, and its step is the one the failure names."""
        held = self.step_points.drain()
        points: list[Point] = []
        try:
            for point in held:
                points += [
                    Point(name, point.step, point.epoch, value, point.time)
                    for name, value in (("train_loss", point.value), ("lr", point.lr))
                ]
                self._check_loss(point.value, point.epoch, point.step)
        finally:
            if points:
                self.recorder.record(points, epoch=points[-1].epoch - 1, step=points[-1].step)

    def _check_loss(self, value: float, epoch: int, step: int) -> None:
        at = self.at
        if not math.isfinite(value):
            raise diverged(epoch, step, at.last_finite)
        if at.first_finite is None:
            at.first_finite = value
        elif abs(value) > BLOW_UP_FACTOR * max(abs(at.first_finite), 1.0):
            raise blew_up(epoch, step, value, at.first_finite)
        at.last_finite = (value, step)

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """Record the held per-step points, then evaluate and record the epoch's points (one host sync each); the
        synced values."""
        self.flush_steps()
        stepper, at = self.stepper, self.at
        values = {"train_loss": at.window.mean()}
        if counts_correct(stepper.objective):
            values["train_accuracy"] = at.correct / self.n
        values |= evaluate(stepper.model, self.data, stepper.objective, stepper.autocast, self.val_names)
        synced = dict(zip(self.names, torch.stack([values[k].float() for k in self.names]).tolist(), strict=True))
        elapsed = self.elapsed()
        points = [Point(name, at.step, epoch, value, elapsed) for name, value in synced.items()]
        at.epoch, at.next_batch = epoch, None
        self.recorder.record([*points, Point("lr", at.step, epoch, self.lr, elapsed)], epoch=epoch, step=at.step)
        self._check_loss(synced["train_loss"], epoch, at.step)
        at.window.reset()
        at.correct.zero_()
        self.schedule.after_epoch(synced)
        return synced

    def early_stop(self, epoch: int, synced: dict[str, float]) -> Outcome | None:
        """The Outcome of a run that early stopping ends after this epoch, or None to go on."""
        if self.stopper is None:
            return None
        reason = self.stopper.should_stop(epoch, synced)
        if self.stopper.best_epoch == epoch:  # improved: keep these weights (once per improving epoch)
            self.at.best_weights = cpu_weights(self.stepper.model)
        if reason is None:
            return None
        log.info("%s", reason)
        return Outcome("succeeded", epoch, self.at.step, stopped_early=True, reason=reason, trained=self.trained())

    def trained(self) -> Trained:
        """What the run's export needs: the model as it is now, and the best weights when early stopping kept any."""
        best = None
        stopper, weights = self.stopper, self.at.best_weights
        if stopper is not None and stopper.best is not None and weights is not None:
            best = Best(weights, stopper.best_epoch, stopper.spec.metric, stopper.best)
        model, objective = self.stepper.model, self.stepper.objective
        return Trained(model, objective, self.data.facts, self.data.raw, self.at.epoch, best)

    def state(self) -> dict[str, Any]:
        """A checkpoint of everything the rest of the run depends on (tensors, numbers and strings only)."""
        return save_state(self.at, self.stepper, self.schedule, self.stopper, elapsed=self.elapsed())

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint."""
        restore_state(state, self.at, self.stepper, self.schedule, self.stopper)


def train(
    spec: JobSpec,
    recorder: Recorder,
    *,
    device: torch.device,
    clock: Callable[[], float] = time.monotonic,
    checkpointer: Checkpointer | None = None,
    resume: dict[str, Any] | None = None,
    judge: Callable[[int, dict[str, float]], bool] | None = None,
) -> Outcome:
    """Train the spec's model from the start or from a checkpoint, sending its metrics to the recorder; a sweep's
    trial has a judge, asked at each epoch's end whether its sweep prunes it there."""
    loop = Loop(spec, recorder, device, clock)
    if resume is not None:
        loop.restore(resume)
    try:
        return _epochs(loop, checkpointer, judge)
    finally:
        if spec.compile:
            forget_compiled()


def _epochs(
    loop: Loop, checkpointer: Checkpointer | None, judge: Callable[[int, dict[str, float]], bool] | None
) -> Outcome:
    spec, recorder = loop.spec, loop.recorder
    while loop.at.epoch < spec.epochs:
        epoch = loop.at.epoch + 1
        loop.stepper.model.train()
        for xb, yb, _, last_in_epoch in loop.batches():
            if why := recorder.should_stop():
                loop.flush_steps()  # the points before the stop belong to the history the checkpoint resumes
                if checkpointer is not None:
                    checkpointer.save(loop.state())
                return Outcome("stopped", loop.at.epoch, loop.at.step, stopped_by=why)
            loop.train_step(xb, yb, epoch=epoch, last_in_epoch=last_in_epoch)
        synced = loop.end_epoch(epoch)
        if judge is not None and judge(epoch, synced):  # before the next epoch: a pruned trial trains no further
            return Outcome(
                "succeeded", epoch, loop.at.step, pruned=True, reason=f"pruned by its sweep at epoch {epoch}"
            )
        stopped = loop.early_stop(epoch, synced)  # before a checkpoint, which keeps the stopper's best
        if stopped is not None:
            return stopped
        if checkpointer is not None and checkpointer.due():
            checkpointer.save(loop.state())
    return Outcome("succeeded", loop.at.epoch, loop.at.step, trained=loop.trained())
