"""Learning-rate schedule components. Durations are in epochs (warmup in steps); the engine steps every schedule
once per optimizer step, except reduce_on_plateau, which reads its metric once per epoch."""

from typing import TYPE_CHECKING, Annotated, Literal, get_args

from pydantic import BeforeValidator, Field, model_validator

from core.components.base import ALL_TASKS, Component, defined_in, one_of
from core.components.naming import name_normalizer

Gamma = Field(default=0.1, gt=0.0, le=1.0, description="Multiplier of the learning rate at each decay.")
EtaMin = Field(default=0.0, ge=0.0, le=10.0, description="The lowest learning rate.")


class SchedulerComponent(Component):
    """A learning-rate schedule: it suits every task."""

    tasks = ALL_TASKS


class StepLr(SchedulerComponent):
    """Multiply the learning rate by gamma every step_size epochs."""

    aliases = ("StepLR",)
    name: Literal["step"]
    step_size: int = Field(default=10, ge=1, le=100_000, description="Epochs between decays.")
    gamma: float = Gamma


class MultiStepLr(SchedulerComponent):
    """Multiply the learning rate by gamma at each milestone epoch."""

    aliases = ("MultiStepLR",)
    name: Literal["multistep"]
    milestones: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default=[30, 80], min_length=1, max_length=100, description="Epochs, increasing."
    )
    gamma: float = Gamma

    @model_validator(mode="after")
    def _increasing(self) -> "MultiStepLr":
        if any(not 1 <= m <= 100_000 for m in self.milestones) or self.milestones != sorted(set(self.milestones)):
            raise ValueError("milestones must be strictly increasing epochs between 1 and 100000")
        return self


class ExponentialLr(SchedulerComponent):
    """Multiply the learning rate by gamma every epoch."""

    aliases = ("ExponentialLR",)
    name: Literal["exponential"]
    gamma: float = Field(default=0.95, gt=0.0, le=1.0, description="Multiplier per epoch.")


class CosineLr(SchedulerComponent):
    """Cosine annealing from the initial rate to eta_min over the whole run."""

    aliases = ("CosineAnnealingLR",)
    name: Literal["cosine"]
    eta_min: float = EtaMin


class CosineWarmRestarts(SchedulerComponent):
    """Cosine annealing restarted every T_0 epochs, each period T_mult times the last (SGDR)."""

    aliases = ("CosineAnnealingWarmRestarts", "sgdr")
    name: Literal["cosine_warm_restarts"]
    T_0: int = Field(default=10, ge=1, le=100_000, description="Epochs of the first period.")
    T_mult: int = Field(default=1, ge=1, le=100, description="Growth of each period.")
    eta_min: float = EtaMin


class OneCycle(SchedulerComponent):
    """The one-cycle policy: up to max_lr and down far below the start, over the whole run (momentum cycles too)."""

    aliases = ("OneCycleLR",)
    name: Literal["one_cycle"]
    max_lr: float = Field(default=0.1, gt=0.0, le=10.0, description="The peak learning rate.")
    pct_start: float = Field(default=0.3, gt=0.0, lt=1.0, description="Share of the run spent rising.")
    anneal_strategy: Literal["cos", "linear"] = "cos"
    cycle_momentum: bool = Field(default=True, description="Cycle momentum (or beta1) inversely to the rate.")
    base_momentum: float = Field(default=0.85, ge=0.0, lt=1.0)
    max_momentum: float = Field(default=0.95, ge=0.0, lt=1.0)
    div_factor: float = Field(default=25.0, ge=1.0, le=1e6, description="Initial rate = max_lr / div_factor.")
    final_div_factor: float = Field(default=1e4, ge=1.0, le=1e9, description="Final rate = initial / this.")
    three_phase: bool = False


AfterWarmup = StepLr | MultiStepLr | ExponentialLr | CosineLr | CosineWarmRestarts
AFTER_WARMUP: tuple[type[Component], ...] = get_args(AfterWarmup)
_then = name_normalizer("scheduler after warmup", "schedulers after warmup", AFTER_WARMUP)


class LinearWarmup(SchedulerComponent):
    """Ramp the learning rate linearly from start_factor times it over warmup_steps, then hand over to `then`."""

    aliases = ("LinearLR", "warmup")
    name: Literal["linear_warmup"]
    warmup_steps: int = Field(default=100, ge=1, le=10_000_000, description="Optimizer steps of the ramp.")
    start_factor: float = Field(default=0.1, gt=0.0, le=1.0)
    then: Annotated[AfterWarmup, Field(discriminator="name"), BeforeValidator(_then)] | None = Field(
        default=None, description="The schedule after warmup (its epochs count from the end of warmup); null: constant."
    )


class ReduceOnPlateau(SchedulerComponent):
    """Multiply the learning rate by factor when a validation metric stops improving for patience epochs."""

    aliases = ("ReduceLROnPlateau", "plateau")
    name: Literal["reduce_on_plateau"]
    metric: str = Field(default="val_loss", max_length=100, description="A metric the job records, e.g. val_loss.")
    mode: Literal["auto", "min", "max"] = Field(default="auto", description="auto: max for accuracies, F1 and R^2.")
    factor: float = Field(default=0.1, gt=0.0, lt=1.0)
    patience: int = Field(default=10, ge=0, le=100_000, description="Epochs without improvement before a cut.")
    threshold: float = Field(default=1e-4, ge=0.0, le=1e6)
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: int = Field(default=0, ge=0, le=100_000)
    min_lr: float = Field(default=0.0, ge=0.0, le=10.0)


SCHEDULERS = defined_in(__name__, SchedulerComponent)
if TYPE_CHECKING:
    SchedulerSpec = SchedulerComponent
else:
    SchedulerSpec = one_of(SCHEDULERS)
