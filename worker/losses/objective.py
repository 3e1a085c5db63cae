"""Loss builders: each loss with the head adaptation and the target form it needs (what it needs from the model).

An Objective turns the model's raw outputs and the dataset's targets into the loss: a sigmoid for `bce`, a
log-softmax for `nll` and `kl_div`, softplus variances for `gaussian_nll`, +/-1 labels for the margin losses, pairs
and triplets drawn within the batch for the embedding and ranking losses.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from core.components import (
    L1,
    GaussianNll,
    Huber,
    LossSpec,
    Mse,
    PoissonNll,
    Rmse,
    SmoothL1,
    Sse,
)
from core.facts import DatasetFacts, HeadKind, head_kind
from worker.losses.classification import classification_objective
from worker.losses.custom import half_sse, rmse
from worker.losses.pairs import pair_objective

Target = tuple[torch.Tensor, ...]
LossFn = Callable[[torch.Tensor, Target], torch.Tensor]


def _identity(output: torch.Tensor) -> torch.Tensor:
    return output


def _as_target(y: torch.Tensor) -> Target:
    return (y,)


@dataclass(frozen=True)
class Objective:
    """A loss with its target adapter and its readout (the predictions the metrics compare)."""

    kind: HeadKind
    compute: LossFn  # (float output, prepared target) -> the loss, reduced as the spec asks
    summed: bool  # the loss is a batch total rather than a per-sample mean
    prepare: Callable[[torch.Tensor], Target] = _as_target
    readout: Callable[[torch.Tensor], torch.Tensor] = _identity

    def loss(self, output: torch.Tensor, target: Target) -> torch.Tensor:
        """The loss of a batch (outputs computed in lower precision are lifted to float32 first)."""
        return self.compute(output.float(), target)

    def total(self, loss: torch.Tensor, batch_size: int) -> torch.Tensor:
        """The batch's loss as a total over its samples, whatever the reduction."""
        return loss if self.summed else loss * batch_size


def _regression(spec: LossSpec) -> Objective:
    summed = getattr(spec, "reduction", "mean") == "sum"
    module: nn.Module
    match spec:
        case L1():
            module = nn.L1Loss(reduction=spec.reduction)
        case Mse():
            module = nn.MSELoss(reduction=spec.reduction)
        case SmoothL1():
            module = nn.SmoothL1Loss(beta=spec.beta, reduction=spec.reduction)
        case Huber():
            module = nn.HuberLoss(delta=spec.delta, reduction=spec.reduction)
        case Rmse():
            eps = spec.eps
            return Objective("regression", lambda out, t: rmse(out, t[0], eps=eps), summed=False)
        case Sse():
            return Objective("regression", lambda out, t: half_sse(out, t[0]), summed=True)
        case _:
            return _likelihood(spec, summed)
    return Objective("regression", lambda out, t: module(out, t[0]), summed=summed)


def _likelihood(spec: LossSpec, summed: bool) -> Objective:
    match spec:
        case PoissonNll():
            module = nn.PoissonNLLLoss(log_input=spec.log_input, full=spec.full, eps=spec.eps, reduction=spec.reduction)
            if spec.log_input:  # the head gives log-rates
                return Objective("regression", lambda out, t: module(out, t[0]), summed=summed, readout=torch.exp)
            # the head gives rates, which must stay positive
            return Objective("regression", lambda out, t: module(F.softplus(out), t[0]), summed, readout=F.softplus)
        case GaussianNll():
            gaussian = nn.GaussianNLLLoss(full=spec.full, eps=spec.eps, reduction=spec.reduction)

            def nll(out: torch.Tensor, t: Target) -> torch.Tensor:
                mean, variance = out[:, :1], F.softplus(out[:, 1:])
                loss: torch.Tensor = gaussian(mean, t[0], variance)
                return loss

            return Objective("regression", nll, summed=summed, readout=lambda out: out[:, :1])
    raise AssertionError(f"no objective for loss {spec.name}")


def build_objective(spec: LossSpec, facts: DatasetFacts, *, device: torch.device) -> Objective:
    """The objective for this loss on this dataset, with its class weights on the device."""
    kind = head_kind(spec, facts.task)
    if kind == "regression":
        return _regression(spec)
    if kind in ("ranking", "embedding"):
        compute, prepare, readout = pair_objective(spec)
        return Objective(kind, compute, getattr(spec, "reduction", "mean") == "sum", prepare, readout)
    compute, prepare, readout = classification_objective(spec, kind, facts, device)
    return Objective(kind, compute, getattr(spec, "reduction", "mean") == "sum", prepare, readout)
