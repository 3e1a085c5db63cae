"""Losses on pairs and triplets drawn within the batch: margin ranking (scores), cosine embedding and triplet margin
(embeddings). Pairs that cannot be formed (a class alone in its batch, equal targets) are masked out."""

from collections.abc import Callable

import torch
from torch import nn

from core.components import CosineEmbedding, LossSpec, MarginRanking, TripletMargin
from worker.losses import targets

Target = tuple[torch.Tensor, ...]
Parts = tuple[
    Callable[[torch.Tensor, Target], torch.Tensor],
    Callable[[torch.Tensor], Target],
    Callable[[torch.Tensor], torch.Tensor],
]


def masked(values: torch.Tensor, valid: torch.Tensor, reduction: str) -> torch.Tensor:
    """The sum, or the mean over valid entries, of the per-sample values."""
    kept = values * valid
    return kept.sum() if reduction == "sum" else kept.sum() / valid.sum().clamp_min(1.0)


def _flat(output: torch.Tensor) -> torch.Tensor:
    return output.squeeze(1)


def _identity(output: torch.Tensor) -> torch.Tensor:
    return output


def _ranking(spec: MarginRanking) -> Parts:
    rank = nn.MarginRankingLoss(margin=spec.margin, reduction="none")
    reduction = spec.reduction

    def prepare(y: torch.Tensor) -> Target:
        return targets.ranking_pairs(y.float().reshape(len(y), -1)[:, 0])

    def compute(out: torch.Tensor, t: Target) -> torch.Tensor:
        partner, sign, valid = t
        scores = out.squeeze(1)
        return masked(rank(scores, scores[partner], sign), valid, reduction)

    return compute, prepare, _flat


def _cosine(spec: CosineEmbedding) -> Parts:
    cosine = nn.CosineEmbeddingLoss(margin=spec.margin, reduction="none")
    reduction = spec.reduction

    def compute(out: torch.Tensor, t: Target) -> torch.Tensor:
        partner, sign, valid = t
        return masked(cosine(out, out[partner], sign), valid, reduction)

    def unit(output: torch.Tensor) -> torch.Tensor:  # centroids compare directions, as the loss does
        return torch.nn.functional.normalize(output, dim=1)

    return compute, targets.similarity_pairs, unit


def _triplet(spec: TripletMargin) -> Parts:
    triplet = nn.TripletMarginLoss(margin=spec.margin, p=spec.p, eps=spec.eps, swap=spec.swap, reduction="none")
    reduction = spec.reduction

    def compute(out: torch.Tensor, t: Target) -> torch.Tensor:
        positive, negative, valid = t
        return masked(triplet(out, out[positive], out[negative]), valid, reduction)

    return compute, targets.triplets, _identity


def pair_objective(spec: LossSpec) -> Parts:
    """The loss, the pair or triplet sampler and the readout (scores or embeddings) of a pair loss."""
    match spec:
        case MarginRanking():
            return _ranking(spec)
        case CosineEmbedding():
            return _cosine(spec)
        case TripletMargin():
            return _triplet(spec)
    raise AssertionError(f"loss {spec.name} is not a pair loss")
