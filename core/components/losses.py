"""Loss components for real-valued and count targets, pairs and triplets. Classification losses: classification.py.

PyTorch's parameter names throughout; what each loss needs from the head and the targets is the engine's to adapt.
"""

from typing import Any, Literal

from pydantic import Field

from core.components.base import CLASSES, REGRESSION, Component, Eps, Reduction, ReductionField

Margin: Any = Field(default=1.0, ge=0.0, le=1000.0, description="The margin the loss enforces.")
EmbeddingDim: Any = Field(default=16, ge=1, le=4096, description="Outputs of the model: the embedding's size.")


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


class MarginRanking(Component):
    """Margin ranking on pairs of samples: the one with the larger target (or the positive) must score higher."""

    aliases = ("MarginRankingLoss",)
    tasks = (*REGRESSION, "binary_classification")
    name: Literal["margin_ranking"]
    margin: float = Field(default=0.0, ge=0.0, le=1000.0)
    reduction: Reduction = ReductionField


class CosineEmbedding(Component):
    """Cosine embedding on pairs: same-class pairs pulled together, others pushed below the margin's cosine."""

    aliases = ("CosineEmbeddingLoss",)
    tasks = CLASSES
    name: Literal["cosine_embedding"]
    margin: float = Field(default=0.0, ge=-1.0, le=1.0)
    embedding_dim: int = EmbeddingDim
    reduction: Reduction = ReductionField


class TripletMargin(Component):
    """Triplet margin: anchor closer to a same-class positive than to an other-class negative, by the margin."""

    aliases = ("TripletMarginLoss",)
    tasks = CLASSES
    name: Literal["triplet_margin"]
    margin: float = Margin
    p: float = Field(default=2.0, gt=0.0, le=100.0, description="The norm degree of the distance.")
    eps: float = Field(default=1e-6, gt=0.0, le=1.0)
    swap: bool = Field(default=False, description="Use the distance swap of Balntas et al.")
    embedding_dim: int = EmbeddingDim
    reduction: Reduction = ReductionField


REGRESSION_LOSSES: tuple[type[Component], ...] = (L1, Mse, Rmse, Sse, SmoothL1, Huber, PoissonNll, GaussianNll)
PAIR_LOSSES: tuple[type[Component], ...] = (MarginRanking, CosineEmbedding, TripletMargin)
