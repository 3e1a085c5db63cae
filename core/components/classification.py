"""Classification loss components: multi-class, binary and multi-label."""

from typing import Literal

from pydantic import Field, model_validator

from core.components.base import (
    CLASSES,
    ClassWeights,
    Component,
    PositiveWeight,
    Reduction,
    ReductionField,
    Task,
    defined_in,
)

MULTILABEL: tuple[Task, ...] = ("multilabel_classification",)
BINARY_OR_MULTILABEL: tuple[Task, ...] = ("binary_classification", "multilabel_classification")
LabelWeights = Field(default=None, min_length=1, max_length=100, description="One weight per label.")
IgnoreIndex = Field(default=-100, ge=-1_000_000, le=1_000_000, description="A target label that adds nothing.")


class CrossEntropy(Component):
    """Softmax cross entropy over class logits, with optional class weights and label smoothing."""

    aliases = ("CrossEntropyLoss", "ce")
    tasks = CLASSES
    name: Literal["cross_entropy"]
    weight: ClassWeights = None
    ignore_index: int = IgnoreIndex
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    reduction: Reduction = ReductionField


class Nll(Component):
    """Negative log-likelihood of the true class; the engine puts a log-softmax on the head."""

    aliases = ("NLLLoss",)
    tasks = CLASSES
    name: Literal["nll"]
    weight: ClassWeights = None
    ignore_index: int = IgnoreIndex
    reduction: Reduction = ReductionField


class KlDiv(Component):
    """KL divergence from a one-hot (or smoothed) target distribution to the head's log-softmax."""

    aliases = ("KLDivLoss",)
    tasks = CLASSES
    name: Literal["kl_div"]
    reduction: Literal["batchmean", "mean", "sum"] = Field(
        default="batchmean", description="'batchmean' is the true KL divergence per sample."
    )
    log_target: bool = Field(default=False, description="Give the target distribution as log-probabilities.")
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0, description="Mass spread over the other classes.")


class MultiMargin(Component):
    """The multi-class SVM hinge: every wrong class's score must stay a margin below the true one's."""

    aliases = ("MultiMarginLoss", "multiclass_hinge")
    tasks = CLASSES
    name: Literal["multi_margin"]
    p: Literal[1, 2] = 1
    margin: float = Field(default=1.0, ge=0.0, le=1000.0)
    weight: ClassWeights = None
    reduction: Reduction = ReductionField


class Bce(Component):
    """Binary cross entropy on probabilities: the engine puts a sigmoid on the head (binary or multi-label)."""

    aliases = ("BCELoss",)
    tasks = BINARY_OR_MULTILABEL
    name: Literal["bce"]
    weight: list[PositiveWeight] | None = LabelWeights
    reduction: Reduction = ReductionField


class BceWithLogits(Component):
    """Binary cross entropy on logits (sigmoid folded in for stability), binary or multi-label."""

    aliases = ("BCEWithLogitsLoss",)
    tasks = BINARY_OR_MULTILABEL
    name: Literal["bce_with_logits"]
    weight: list[PositiveWeight] | None = LabelWeights
    pos_weight: float | list[float] | None = Field(default=None, description="Weight of positives (per label).")
    reduction: Reduction = ReductionField

    @model_validator(mode="after")
    def _pos_weight_positive(self) -> "BceWithLogits":
        values = self.pos_weight if isinstance(self.pos_weight, list) else [self.pos_weight or 1.0]
        if not values or not all(0.0 < v <= 1e6 for v in values):
            raise ValueError("pos_weight must be greater than 0 and at most 1e6")
        return self


class HingeEmbedding(Component):
    """Hinge embedding on +/-1 targets: the (non-negative) head is small for positives, above the margin otherwise."""

    aliases = ("HingeEmbeddingLoss",)
    tasks = ("binary_classification",)
    name: Literal["hinge_embedding"]
    margin: float = Field(default=1.0, gt=0.0, le=1000.0)
    reduction: Reduction = ReductionField


class SoftMargin(Component):
    """Soft margin (logistic) loss on +/-1 targets, binary or per label."""

    aliases = ("SoftMarginLoss",)
    tasks = BINARY_OR_MULTILABEL
    name: Literal["soft_margin"]
    reduction: Reduction = ReductionField


class MultilabelMargin(Component):
    """Multi-label hinge: every true label's score must stay a margin of 1 above every other label's."""

    aliases = ("MultiLabelMarginLoss",)
    tasks = MULTILABEL
    name: Literal["multilabel_margin"]
    reduction: Reduction = ReductionField


class MultilabelSoftMargin(Component):
    """Multi-label one-versus-all logistic loss on multi-hot targets."""

    aliases = ("MultiLabelSoftMarginLoss",)
    tasks = MULTILABEL
    name: Literal["multilabel_soft_margin"]
    weight: list[PositiveWeight] | None = LabelWeights
    reduction: Reduction = ReductionField


class Focal(Component):
    """Focal loss (Lin et al.): cross entropy scaled by (1 - p)^gamma, so easy samples count less; for imbalance."""

    aliases = ("focal_loss", "sigmoid_focal_loss")
    tasks = (*CLASSES, "multilabel_classification")
    name: Literal["focal"]
    gamma: float = Field(default=2.0, ge=0.0, le=20.0, description="Focusing strength; 0 is cross entropy.")
    alpha: float | list[float] | None = Field(
        default=None,
        description="Binary and multi-label: weight of positives in [0, 1]; multi-class: one weight per class.",
    )
    reduction: Reduction = ReductionField

    @model_validator(mode="after")
    def _alpha_in_bounds(self) -> "Focal":
        if isinstance(self.alpha, float) and not 0.0 <= self.alpha <= 1.0:
            raise ValueError("alpha must be in [0, 1] (or a list with one weight per class)")
        if isinstance(self.alpha, list) and not (self.alpha and all(0.0 <= a <= 1e6 for a in self.alpha)):
            raise ValueError("alpha's class weights must each be in [0, 1e6]")
        return self


CLASSIFICATION_LOSSES = defined_in(__name__, Component)
