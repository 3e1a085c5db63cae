"""Classification losses: the head adaptation (softmax, log-softmax, sigmoid, softplus) and the target form each
loss takes, and the readout that turns outputs into predicted labels for the metrics."""

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from core.components import (
    Bce,
    BceWithLogits,
    CrossEntropy,
    Focal,
    HingeEmbedding,
    KlDiv,
    LossSpec,
    MultilabelMargin,
    MultilabelSoftMargin,
    MultiMargin,
    Nll,
    SoftMargin,
)
from core.facts import DatasetFacts, HeadKind
from worker.losses import targets
from worker.losses.custom import sigmoid_focal, softmax_focal

Target = tuple[torch.Tensor, ...]
Compute = Callable[[torch.Tensor, Target], torch.Tensor]
Prepare = Callable[[torch.Tensor], Target]
Readout = Callable[[torch.Tensor], torch.Tensor]
Parts = tuple[Compute, Prepare, Readout]


def _weights(values: float | list[float] | None, device: torch.device) -> torch.Tensor | None:
    if values is None:
        return None
    return torch.tensor(values if isinstance(values, list) else [values], dtype=torch.float32, device=device)


def argmax_labels(output: torch.Tensor) -> torch.Tensor:
    """The highest-scoring class of each sample."""
    return output.argmax(dim=1)


def positive_logits(output: torch.Tensor) -> torch.Tensor:
    """Labels (binary, (N,)) or multi-hot rows (multi-label, (N, L)) where the logit is above 0."""
    on = (output > 0).long()
    return on.squeeze(1) if output.shape[1] == 1 else on.float()


def largest_gap(output: torch.Tensor) -> torch.Tensor:
    """Multi-hot rows for a ranking head: labels scored above the widest gap between consecutive scores."""
    ordered = output.sort(dim=1, descending=True).values
    gaps = ordered[:, :-1] - ordered[:, 1:]
    cut = gaps.argmax(dim=1, keepdim=True)
    threshold = (ordered.gather(1, cut) + ordered.gather(1, cut + 1)) / 2
    return (output > threshold).float()


def _same(y: torch.Tensor) -> Target:
    return (y,)


def _columns(y: torch.Tensor) -> Target:
    return (targets.as_columns(y),)


def _signs(y: torch.Tensor) -> Target:
    return (targets.plus_minus(targets.as_columns(y)),)


def _multiclass(spec: LossSpec, facts: DatasetFacts, device: torch.device) -> Parts:
    match spec:
        case CrossEntropy():
            ce = nn.CrossEntropyLoss(
                weight=_weights(spec.weight, device),
                ignore_index=spec.ignore_index,
                label_smoothing=spec.label_smoothing,
                reduction=spec.reduction,
            )
            return (lambda out, t: ce(out, t[0])), _same, argmax_labels
        case Nll():
            nll = nn.NLLLoss(
                weight=_weights(spec.weight, device), ignore_index=spec.ignore_index, reduction=spec.reduction
            )
            return (lambda out, t: nll(F.log_softmax(out, dim=1), t[0])), _same, argmax_labels
        case MultiMargin():
            hinge = nn.MultiMarginLoss(
                p=spec.p, margin=spec.margin, weight=_weights(spec.weight, device), reduction=spec.reduction
            )
            return (lambda out, t: hinge(out, t[0])), _same, argmax_labels
        case KlDiv():
            return _kl_div(spec, facts.n_classes)
        case Focal():
            gamma, alpha, reduction = spec.gamma, _weights(spec.alpha, device), spec.reduction
            return (
                (lambda out, t: softmax_focal(out, t[0], gamma=gamma, alpha=alpha, reduction=reduction)),
                _same,
                argmax_labels,
            )
    raise AssertionError(f"loss {spec.name} has no multi-class form")


def _kl_div(spec: KlDiv, n_classes: int) -> Parts:
    kl = nn.KLDivLoss(reduction=spec.reduction, log_target=spec.log_target)
    smoothing, log_target = spec.label_smoothing, spec.log_target

    def distribution(y: torch.Tensor) -> Target:
        dist = targets.label_distribution(y, n_classes, smoothing)
        return (dist.clamp_min(1e-12).log() if log_target else dist,)  # a one-hot's zeros have no finite log

    return (lambda out, t: kl(F.log_softmax(out, dim=1), t[0])), distribution, argmax_labels


def _binary_or_multilabel(spec: LossSpec, kind: HeadKind, device: torch.device) -> Parts:
    match spec:
        case Bce():
            bce = nn.BCELoss(weight=_weights(spec.weight, device), reduction=spec.reduction)
            return (lambda out, t: bce(torch.sigmoid(out), t[0])), _columns, positive_logits
        case BceWithLogits():
            weight, pos_weight = _weights(spec.weight, device), _weights(spec.pos_weight, device)
            logistic = nn.BCEWithLogitsLoss(weight=weight, pos_weight=pos_weight, reduction=spec.reduction)
            return (lambda out, t: logistic(out, t[0])), _columns, positive_logits
        case SoftMargin():
            soft = nn.SoftMarginLoss(reduction=spec.reduction)
            return (lambda out, t: soft(out, t[0])), _signs, positive_logits
        case HingeEmbedding():
            return _hinge_embedding(spec)
        case Focal():
            gamma, reduction = spec.gamma, spec.reduction
            alpha = spec.alpha if isinstance(spec.alpha, float) else None
            focal = lambda out, t: sigmoid_focal(out, t[0], gamma=gamma, alpha=alpha, reduction=reduction)  # noqa: E731
            return focal, _columns, positive_logits
        case MultilabelSoftMargin():
            soft_ml = nn.MultiLabelSoftMarginLoss(weight=_weights(spec.weight, device), reduction=spec.reduction)
            return (lambda out, t: soft_ml(out, t[0])), _same, positive_logits
        case MultilabelMargin():
            margin_ml = nn.MultiLabelMarginLoss(reduction=spec.reduction)
            return (lambda out, t: margin_ml(out, t[0])), (lambda y: (targets.label_index_lists(y),)), largest_gap
    raise AssertionError(f"loss {spec.name} has no {kind} form")


def _hinge_embedding(spec: HingeEmbedding) -> Parts:
    # The head is read as a non-negative distance (softplus): small for positives (+1), above the margin for negatives.
    hinge = nn.HingeEmbeddingLoss(margin=spec.margin, reduction=spec.reduction)
    half_margin = spec.margin / 2

    def near(output: torch.Tensor) -> torch.Tensor:
        return (F.softplus(output) < half_margin).long().squeeze(1)

    return (lambda out, t: hinge(F.softplus(out), t[0])), _signs, near


def classification_objective(spec: LossSpec, kind: HeadKind, facts: DatasetFacts, device: torch.device) -> Parts:
    """The loss, target adapter and readout of a classification loss for this head kind."""
    if kind == "classes":
        return _multiclass(spec, facts, device)
    return _binary_or_multilabel(spec, kind, device)
