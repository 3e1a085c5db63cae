"""Learning-rate schedules, all stepped once per optimizer step (epochs in the spec become steps here), except
reduce_on_plateau, which reads its validation metric once per epoch."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from torch import optim
from torch.optim import lr_scheduler as lrs

from core.components import (
    CosineLr,
    CosineWarmRestarts,
    ExponentialLr,
    LinearWarmup,
    MultiStepLr,
    OneCycle,
    ReduceOnPlateau,
    SchedulerSpec,
    StepLr,
)
from core.metrics import better_is_higher
from core.spec import JobSpec


def _stepwise(spec: SchedulerSpec, optimizer: optim.Optimizer, steps_per_epoch: int, total: int) -> lrs.LRScheduler:
    """A PyTorch scheduler that expects one step() per optimizer step; `total` is the steps it spans."""
    spe = steps_per_epoch
    match spec:
        case StepLr():
            return lrs.StepLR(optimizer, step_size=spec.step_size * spe, gamma=spec.gamma)
        case MultiStepLr():
            return lrs.MultiStepLR(optimizer, milestones=[m * spe for m in spec.milestones], gamma=spec.gamma)
        case ExponentialLr():  # once per epoch, as the spec counts it
            return lrs.StepLR(optimizer, step_size=spe, gamma=spec.gamma)
        case CosineLr():
            return lrs.CosineAnnealingLR(optimizer, T_max=max(total, 1), eta_min=spec.eta_min)
        case CosineWarmRestarts():
            return lrs.CosineAnnealingWarmRestarts(
                optimizer, T_0=spec.T_0 * spe, T_mult=spec.T_mult, eta_min=spec.eta_min
            )
        case OneCycle():
            return _one_cycle(spec, optimizer, total)
        case LinearWarmup():
            warmup = lrs.LinearLR(optimizer, start_factor=spec.start_factor, total_iters=spec.warmup_steps)
            if spec.then is None:
                return warmup
            after = _stepwise(spec.then, optimizer, spe, total - spec.warmup_steps)
            return lrs.SequentialLR(optimizer, [warmup, after], milestones=[spec.warmup_steps])
    raise AssertionError(f"no step-wise schedule for {spec.name}")


def _one_cycle(spec: OneCycle, optimizer: optim.Optimizer, total: int) -> lrs.LRScheduler:
    return lrs.OneCycleLR(optimizer, total_steps=max(total, 2), **spec.model_dump(exclude={"name"}))


@dataclass
class Schedule:
    """The run's learning-rate schedule: after_step() after every optimizer step, after_epoch() with the metrics."""

    per_step: lrs.LRScheduler | None = None
    plateau: lrs.ReduceLROnPlateau | None = None
    metric: str = ""

    def after_step(self, step: int, total: int) -> None:
        """Advance a step-wise schedule (one_cycle refuses to step past its end, so the last step is skipped)."""
        if self.per_step is not None and step < total:
            self.per_step.step()

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state, for a checkpoint."""
        return {
            "per_step": self.per_step.state_dict() if self.per_step is not None else None,
            "plateau": self.plateau.state_dict() if self.plateau is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's state."""
        if self.per_step is not None and state["per_step"] is not None:
            self.per_step.load_state_dict(state["per_step"])
        if self.plateau is not None and state["plateau"] is not None:
            self.plateau.load_state_dict(state["plateau"])

    def after_epoch(self, metrics: Mapping[str, float]) -> None:
        """Feed reduce_on_plateau the epoch's value of its metric."""
        if self.plateau is not None:
            self.plateau.step(metrics[self.metric])


def build_schedule(spec: JobSpec, optimizer: optim.Optimizer, *, steps_per_epoch: int) -> Schedule:
    """The schedule for this spec (a constant rate when it has none)."""
    scheduler = spec.scheduler
    if scheduler is None:
        return Schedule()
    if isinstance(scheduler, ReduceOnPlateau):
        mode: Literal["min", "max"] = "max" if better_is_higher(scheduler.metric, scheduler.mode) else "min"
        # The spec's own fields but the two it reads itself: which metric to watch, and 'auto' resolved above.
        fields = scheduler.model_dump(exclude={"name", "metric", "mode"})
        plateau = lrs.ReduceLROnPlateau(optimizer, mode=mode, **fields)
        return Schedule(plateau=plateau, metric=scheduler.metric)
    total = spec.epochs * steps_per_epoch
    return Schedule(per_step=_stepwise(scheduler, optimizer, steps_per_epoch, total))
