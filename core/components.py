"""The component catalog as typed, bounded parameter models: datasets, models, losses, optimizers, schedulers.

Each class is one component: its `name` literal is the registry key, its fields are the only parameters a spec may
set, and its docstring is the one-line description the catalog shows. The worker maps the same names to builders.
"""

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Reduction = Literal["mean", "sum"]
Normalize = Literal["none", "standard"]
Task = Literal["regression", "classification", "image_classification"]


class Component(BaseModel):
    """A catalog entry: strict (unknown fields refused) and finite (NaN and infinity refused)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    aliases: ClassVar[tuple[str, ...]] = ()
    tasks: ClassVar[tuple[Task, ...]] = ()


ValFraction = Field(default=0.2, ge=0.0, le=0.9, description="Share of samples held out for validation.")
NormalizeField: Any = Field(default="none", description="'standard': scale each feature by training-split statistics.")
SampleCount = Field(default=1000, ge=20, le=1_000_000, description="Number of generated samples.")


# --- datasets -------------------------------------------------------------------------------------------------------


class Thermometer(Component):
    """The 11 readings of the classic Celsius example: Celsius against an unknown thermometer's units."""

    tasks = ("regression",)
    name: Literal["thermometer"]
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class Digits(Component):
    """scikit-learn's bundled 8x8 handwritten digits, 1797 samples, 10 classes."""

    tasks = ("classification",)
    name: Literal["digits"]
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticRegression(Component):
    """A generated linear regression with Gaussian noise."""

    tasks = ("regression",)
    name: Literal["synthetic_regression"]
    n_samples: int = SampleCount
    n_features: int = Field(default=8, ge=1, le=4096)
    noise: float = Field(default=0.1, ge=0.0, le=1000.0, description="Standard deviation of the target noise.")
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticClassification(Component):
    """Generated Gaussian clusters, one per class."""

    tasks = ("classification",)
    name: Literal["synthetic_classification"]
    n_samples: int = SampleCount
    n_features: int = Field(default=8, ge=1, le=4096)
    n_classes: int = Field(default=3, ge=2, le=1000)
    class_sep: float = Field(default=1.0, gt=0.0, le=100.0, description="Distance between class centres.")
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticImages(Component):
    """Generated 3x32x32 images, one noisy pattern per class: CIFAR-10-shaped data that needs no download."""

    tasks = ("image_classification",)
    name: Literal["synthetic_images"]
    n_samples: int = Field(default=2000, ge=20, le=100_000)
    n_classes: int = Field(default=10, ge=2, le=100)
    noise: float = Field(default=1.0, ge=0.0, le=100.0, description="Standard deviation of the pixel noise.")
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


DatasetSpec = Thermometer | Digits | SyntheticRegression | SyntheticClassification | SyntheticImages


# --- models ---------------------------------------------------------------------------------------------------------


class Linear(Component):
    """One affine layer: inputs flattened, one output per target or class."""

    name: Literal["linear"]
    bias: bool = True


class Mlp(Component):
    """A multi-layer perceptron: inputs flattened, hidden layers each followed by the activation and dropout."""

    name: Literal["mlp"]
    hidden: list[int] = Field(default=[128], max_length=16, description="Width of each hidden layer.")
    activation: Literal["relu", "tanh", "gelu", "sigmoid", "leaky_relu"] = "relu"
    dropout: float = Field(default=0.0, ge=0.0, le=0.95)

    @model_validator(mode="after")
    def _widths_in_bounds(self) -> "Mlp":
        if any(not 1 <= width <= 65536 for width in self.hidden):
            raise ValueError("every hidden width must be between 1 and 65536")
        return self


class CifarCnn(Component):
    """The classic two-conv CIFAR-10 net: conv 3->64 k5, pool, conv 64->30 k5, pool, fc 750->128, fc 128->classes."""

    aliases = ("cnn",)
    tasks = ("image_classification",)
    name: Literal["cifar_cnn"]


ModelSpec = Linear | Mlp | CifarCnn


# --- losses ---------------------------------------------------------------------------------------------------------


class Mse(Component):
    """Mean squared error."""

    aliases = ("MSELoss",)
    tasks = ("regression",)
    name: Literal["mse"]
    reduction: Reduction = "mean"


class L1(Component):
    """Mean absolute error: less pulled by outliers than MSE."""

    aliases = ("L1Loss", "mae")
    tasks = ("regression",)
    name: Literal["l1"]
    reduction: Reduction = "mean"


class CrossEntropy(Component):
    """Softmax cross entropy over class logits."""

    aliases = ("CrossEntropyLoss",)
    tasks = ("classification", "image_classification")
    name: Literal["cross_entropy"]
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    reduction: Reduction = "mean"


class BceWithLogits(Component):
    """Binary cross entropy on one logit per sample (sigmoid folded in for stability)."""

    aliases = ("BCEWithLogitsLoss",)
    tasks = ("classification", "image_classification")
    name: Literal["bce_with_logits"]
    pos_weight: float | None = Field(default=None, gt=0.0, le=1e6, description="Weight of the positive class.")
    reduction: Reduction = "mean"


LossSpec = Mse | L1 | CrossEntropy | BceWithLogits


# --- optimizers -----------------------------------------------------------------------------------------------------

LearningRate = Field(default=1e-3, gt=0.0, le=10.0, description="Learning rate.")
WeightDecay = Field(default=0.0, ge=0.0, le=1.0, description="L2 penalty.")


class Sgd(Component):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""

    aliases = ("SGD",)
    name: Literal["sgd"]
    lr: float = LearningRate
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    dampening: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = WeightDecay

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> "Sgd":
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov needs momentum > 0 and dampening 0")
        return self


class Adam(Component):
    """Adam: per-parameter steps from running moments of the gradient."""

    aliases = ("Adam",)
    name: Literal["adam"]
    lr: float = LearningRate
    betas: tuple[float, float] = Field(default=(0.9, 0.999), description="Decay rates of the moments, each in [0, 1).")
    eps: float = Field(default=1e-8, gt=0.0, le=1.0)
    weight_decay: float = WeightDecay
    amsgrad: bool = False

    @model_validator(mode="after")
    def _betas_in_bounds(self) -> "Adam":
        if not all(0.0 <= beta < 1.0 for beta in self.betas):
            raise ValueError("betas must each be in [0, 1)")
        return self


OptimizerSpec = Sgd | Adam


# --- schedulers -----------------------------------------------------------------------------------------------------


class StepLr(Component):
    """Multiply the learning rate by gamma every step_size epochs."""

    aliases = ("StepLR",)
    name: Literal["step"]
    step_size: int = Field(default=10, ge=1, le=100_000, description="Epochs between decays.")
    gamma: float = Field(default=0.1, gt=0.0, le=1.0)


class CosineLr(Component):
    """Cosine annealing from the initial rate to eta_min over the whole run."""

    aliases = ("CosineAnnealingLR",)
    name: Literal["cosine"]
    eta_min: float = Field(default=0.0, ge=0.0, le=10.0)


SchedulerSpec = StepLr | CosineLr

COMPONENTS: dict[str, tuple[type[Component], ...]] = {
    "dataset": (Thermometer, Digits, SyntheticRegression, SyntheticClassification, SyntheticImages),
    "model": (Linear, Mlp, CifarCnn),
    "loss": (Mse, L1, CrossEntropy, BceWithLogits),
    "optimizer": (Sgd, Adam),
    "scheduler": (StepLr, CosineLr),
}

PLURAL = {
    "dataset": "datasets",
    "model": "models",
    "loss": "losses",
    "optimizer": "optimizers",
    "scheduler": "schedulers",
}


def component_name(cls: type[Component]) -> str:
    """The registry name of a component class (the value of its `name` literal)."""
    annotation = cls.model_fields["name"].annotation
    return str(annotation.__args__[0])  # type: ignore[union-attr]
