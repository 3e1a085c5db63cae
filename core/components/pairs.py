"""Loss components on pairs and triplets of samples: ranking and embedding losses (the engine pairs a batch).

PyTorch's parameter names throughout; what each loss needs from the head and the targets is the engine's to adapt.
"""

from typing import Any, Literal

from pydantic import Field

from core.components.base import CLASSES, REGRESSION, Component, Reduction, ReductionField, defined_in

Margin: Any = Field(default=1.0, ge=0.0, le=1000.0, description="The margin the loss enforces.")
EmbeddingDim: Any = Field(default=16, ge=1, le=4096, description="Outputs of the model: the embedding's size.")


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


PAIR_LOSSES = defined_in(__name__, Component)
