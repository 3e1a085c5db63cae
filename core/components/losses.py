"""Loss components for real-valued and count targets. Classification losses: classification.py; pairs: pairs.py.

PyTorch's parameter names throughout; what each loss needs from the head and the targets is the engine's to adapt.
"""

from typing import Literal

from pydantic import Field

from core.components.base import REGRESSION, Component, Eps, Reduction, ReductionField, defined_in


class L1(Component):
    """Mean absolute error: less pulled by outliers than MSE."""

    aliases = ("L1Loss", "mae")
    tasks = REGRESSION
    name: Literal["l1"]
    reduction: Reduction = ReductionField


class Mse(Component):
    """Mean squared error."""

    aliases = ("MSELoss",)
    tasks = REGRESSION
    name: Literal["mse"]
    reduction: Reduction = ReductionField


class Rmse(Component):
    """Root mean squared error: the square root of MSE plus eps, so the gradient stays finite at zero error."""

    tasks = REGRESSION
    name: Literal["rmse"]
    eps: float = Eps


class Sse(Component):
    """Half the sum of squared errors over the batch (the classic least-squares objective)."""

    tasks = REGRESSION
    name: Literal["sse"]


class SmoothL1(Component):
    """Smooth L1: squared below beta, absolute above it (robust to outliers)."""

    aliases = ("SmoothL1Loss",)
    tasks = REGRESSION
    name: Literal["smooth_l1"]
    beta: float = Field(default=1.0, ge=0.0, le=1e6, description="Where the loss turns from squared to absolute.")
    reduction: Reduction = ReductionField


class Huber(Component):
    """Huber loss: squared below delta, delta-scaled absolute above it (robust to outliers)."""

    aliases = ("HuberLoss",)
    tasks = REGRESSION
    name: Literal["huber"]
    delta: float = Field(default=1.0, gt=0.0, le=1e6, description="Where the loss turns from squared to absolute.")
    reduction: Reduction = ReductionField


class PoissonNll(Component):
    """Poisson negative log-likelihood for count targets; the head gives the log-rate (or the rate)."""

    aliases = ("PoissonNLLLoss",)
    tasks = ("count_regression",)
    name: Literal["poisson_nll"]
    log_input: bool = Field(default=True, description="The model outputs log-rates (true) or rates (false).")
    full: bool = Field(default=False, description="Add the Stirling term of log(target!).")
    eps: float = Eps
    reduction: Reduction = ReductionField


class GaussianNll(Component):
    """Gaussian negative log-likelihood: the head gives a mean and a variance per target."""

    aliases = ("GaussianNLLLoss",)
    tasks = REGRESSION
    name: Literal["gaussian_nll"]
    full: bool = Field(default=False, description="Add the constant term.")
    eps: float = Field(default=1e-6, gt=0.0, le=1.0, description="Lower clamp of the variance.")
    reduction: Reduction = ReductionField


REGRESSION_LOSSES = defined_in(__name__, Component)
