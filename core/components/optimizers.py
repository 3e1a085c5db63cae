"""Optimizer components: every optimizer torch.optim ships, with PyTorch's parameter names and bounds."""

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from core.components.base import ALL_TASKS, Betas, Component, Eps, LearningRate, Pair, WeightDecay, defined_in, one_of

Momentum: Any = Field(default=0.0, ge=0.0, lt=1.0, description="Momentum factor.")
BetasField: Any = Field(default=(0.9, 0.999), description="Decay rates of the moments, each in [0, 1).")
DecoupledWeightDecay: Any = Field(default=False, description="Decay the weights directly, as AdamW does.")


class OptimizerComponent(Component):
    """An optimizer: it suits every task."""

    tasks = ALL_TASKS
    # Whether it steps on sparse gradients (embedding_bag with sparse true); most of torch.optim refuses them.
    sparse_gradients: ClassVar[bool] = False
    # Whether it has a momentum (or beta1) that one_cycle can cycle.
    has_momentum: ClassVar[bool] = True

    def state_copies(self) -> int:
        """How many parameter-sized tensors the optimizer keeps (for the memory estimate): Adam's two moments."""
        return 2


class Sgd(OptimizerComponent):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""

    aliases = ("SGD",)
    sparse_gradients = True
    name: Literal["sgd"]
    lr: float = LearningRate
    momentum: float = Momentum
    dampening: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = WeightDecay

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> "Sgd":
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov needs momentum > 0 and dampening 0")
        return self

    def state_copies(self) -> int:
        """The momentum buffer, when there is momentum."""
        return 1 if self.momentum > 0 else 0


class Adam(OptimizerComponent):
    """Adam: per-parameter steps from running moments of the gradient."""

    aliases = ("Adam",)
    name: Literal["adam"]
    lr: float = LearningRate
    betas: Betas = BetasField
    eps: float = Eps
    weight_decay: float = WeightDecay
    amsgrad: bool = False

    def state_copies(self) -> int:
        """The two moments, and the running maximum with amsgrad."""
        return 3 if self.amsgrad else 2


class AdamW(OptimizerComponent):
    """Adam with decoupled weight decay."""

    aliases = ("AdamW",)
    name: Literal["adamw"]
    lr: float = LearningRate
    betas: Betas = BetasField
    eps: float = Eps
    weight_decay: float = Field(default=0.01, ge=0.0, le=1.0, description="Decoupled weight decay.")
    amsgrad: bool = False

    def state_copies(self) -> int:
        """The two moments, and the running maximum with amsgrad."""
        return 3 if self.amsgrad else 2


class Adadelta(OptimizerComponent):
    """Adadelta: step sizes from running averages of squared gradients and squared updates."""

    aliases = ("Adadelta",)
    has_momentum = False
    name: Literal["adadelta"]
    lr: float = Field(default=1.0, gt=0.0, le=10.0, description="Scale of the computed step.")
    rho: float = Field(default=0.9, ge=0.0, lt=1.0, description="Decay of the running averages.")
    eps: float = Field(default=1e-6, gt=0.0, le=1.0)
    weight_decay: float = WeightDecay


class Adagrad(OptimizerComponent):
    """Adagrad: per-parameter steps shrinking with the sum of past squared gradients."""

    aliases = ("Adagrad",)
    has_momentum = False
    sparse_gradients = True
    name: Literal["adagrad"]
    lr: float = Field(default=1e-2, gt=0.0, le=10.0, description="Learning rate.")
    lr_decay: float = Field(default=0.0, ge=0.0, le=1.0)
    weight_decay: float = WeightDecay
    initial_accumulator_value: float = Field(default=0.0, ge=0.0, le=1e6)
    eps: float = Field(default=1e-10, gt=0.0, le=1.0)

    def state_copies(self) -> int:
        """The sum of squared gradients."""
        return 1


class Adamax(OptimizerComponent):
    """Adamax: Adam with the infinity norm in place of the second moment."""

    aliases = ("Adamax",)
    name: Literal["adamax"]
    lr: float = Field(default=2e-3, gt=0.0, le=10.0, description="Learning rate.")
    betas: Betas = BetasField
    eps: float = Eps
    weight_decay: float = WeightDecay


class Asgd(OptimizerComponent):
    """Averaged stochastic gradient descent."""

    aliases = ("ASGD",)
    has_momentum = False
    name: Literal["asgd"]
    lr: float = Field(default=1e-2, gt=0.0, le=10.0, description="Learning rate.")
    lambd: float = Field(default=1e-4, ge=0.0, le=1.0, description="Decay term.")
    alpha: float = Field(default=0.75, ge=0.0, le=10.0, description="Power of the eta update.")
    t0: float = Field(default=1e6, ge=0.0, le=1e12, description="Step at which averaging starts.")
    weight_decay: float = WeightDecay

    def state_copies(self) -> int:
        """The running average of the parameters (its step sizes are scalars)."""
        return 1


class Lbfgs(OptimizerComponent):
    """L-BFGS, a quasi-Newton method: several loss evaluations per step (the engine gives it the closure)."""

    aliases = ("LBFGS",)
    has_momentum = False
    name: Literal["lbfgs"]
    lr: float = Field(default=1.0, gt=0.0, le=10.0, description="Learning rate.")
    max_iter: int = Field(default=20, ge=1, le=1000, description="Iterations per optimizer step.")
    max_eval: int | None = Field(
        default=None, ge=1, le=10_000, description="Evaluations per step; null: 1.25 max_iter."
    )
    tolerance_grad: float = Field(default=1e-7, ge=0.0, le=1.0)
    tolerance_change: float = Field(default=1e-9, ge=0.0, le=1.0)
    history_size: int = Field(default=100, ge=1, le=10_000)
    # torch defaults to no line search, which diverges on mini-batches (a loss of 3.5e3 grew to 3.4e15 on digits with
    # lr 0.5): the service defaults to the strong Wolfe search, a documented departure from torch. null turns it off.
    line_search_fn: Literal["strong_wolfe"] | None = Field(
        default="strong_wolfe", description="Line search: strong_wolfe (the default here; torch's is none) or null."
    )

    def state_copies(self) -> int:
        """Two vectors per remembered step, and the direction, the previous gradient and the flat gradient."""
        return 2 * self.history_size + 3


class NAdam(OptimizerComponent):
    """Adam with Nesterov momentum."""

    aliases = ("NAdam",)
    name: Literal["nadam"]
    lr: float = Field(default=2e-3, gt=0.0, le=10.0, description="Learning rate.")
    betas: Betas = BetasField
    eps: float = Eps
    weight_decay: float = WeightDecay
    momentum_decay: float = Field(default=4e-3, ge=0.0, le=1.0)
    decoupled_weight_decay: bool = DecoupledWeightDecay


class RAdam(OptimizerComponent):
    """Rectified Adam: Adam with the variance of its adaptive rate rectified early in training."""

    aliases = ("RAdam",)
    name: Literal["radam"]
    lr: float = LearningRate
    betas: Betas = BetasField
    eps: float = Eps
    weight_decay: float = WeightDecay
    decoupled_weight_decay: bool = DecoupledWeightDecay


class RmsProp(OptimizerComponent):
    """RMSprop: steps divided by a running average of squared gradients (optionally centered, with momentum)."""

    aliases = ("RMSprop",)
    name: Literal["rmsprop"]
    lr: float = Field(default=1e-2, gt=0.0, le=10.0, description="Learning rate.")
    alpha: float = Field(default=0.99, ge=0.0, lt=1.0, description="Smoothing constant.")
    eps: float = Eps
    weight_decay: float = WeightDecay
    momentum: float = Momentum
    centered: bool = Field(default=False, description="Normalize by the gradient's estimated variance.")

    def state_copies(self) -> int:
        """The square average, with the momentum buffer and the gradient average when they are on."""
        return 1 + (1 if self.momentum > 0 else 0) + (1 if self.centered else 0)


class Rprop(OptimizerComponent):
    """Resilient backpropagation: per-parameter step sizes from the sign of the gradient (full batch)."""

    aliases = ("Rprop",)
    has_momentum = False
    name: Literal["rprop"]
    lr: float = Field(default=1e-2, gt=0.0, le=10.0, description="Initial step size.")
    etas: Pair = Field(default=(0.5, 1.2), description="Decrease (in (0, 1)) and increase (> 1).")
    step_sizes: Pair = Field(default=(1e-6, 50.0), description="Smallest and largest step size.")

    @model_validator(mode="after")
    def _etas_and_step_sizes(self) -> "Rprop":
        if not (0.0 < self.etas[0] < 1.0 < self.etas[1] <= 100.0):
            raise ValueError("etas must be (decrease in (0, 1), increase in (1, 100])")
        if not (0.0 <= self.step_sizes[0] <= self.step_sizes[1] <= 1e6):
            raise ValueError("step_sizes must be (smallest, largest) with 0 <= smallest <= largest <= 1e6")
        return self


class SparseAdam(OptimizerComponent):
    """Adam for sparse gradients only (the embedding_bag model with sparse true)."""

    aliases = ("SparseAdam",)
    sparse_gradients = True
    name: Literal["sparse_adam"]
    lr: float = LearningRate
    betas: Betas = BetasField
    eps: float = Eps


OPTIMIZERS = defined_in(__name__, OptimizerComponent)
if TYPE_CHECKING:
    OptimizerSpec = OptimizerComponent
else:
    OptimizerSpec = one_of(OPTIMIZERS)
