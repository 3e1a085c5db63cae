"""Loss builders, and how each loss wants the targets and the head read (what it needs from the model)."""

from dataclasses import dataclass

import torch
from torch import nn

from core.components import L1, BceWithLogits, CrossEntropy, LossSpec, Mse


@dataclass(frozen=True)
class Objective:
    """A loss with its target adapter and its prediction rule (for accuracy)."""

    loss: nn.Module
    binary: bool  # one logit per sample, targets as float 0/1
    summed: bool  # reduction 'sum': the loss is a batch total, not a per-sample mean

    def total(self, loss: torch.Tensor, batch_size: int) -> torch.Tensor:
        """The batch's loss as a total over its samples, whatever the reduction."""
        return loss if self.summed else loss * batch_size

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        """Targets in the form the loss takes."""
        return y.float().unsqueeze(1) if self.binary else y

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """Class labels from the model's output."""
        return (output.squeeze(1) > 0).long() if self.binary else output.argmax(dim=1)


def build_objective(spec: LossSpec, *, device: torch.device) -> Objective:
    """The loss module for this spec, on the device."""
    match spec:
        case Mse():
            return Objective(nn.MSELoss(reduction=spec.reduction), binary=False, summed=spec.reduction == "sum")
        case L1():
            return Objective(nn.L1Loss(reduction=spec.reduction), binary=False, summed=spec.reduction == "sum")
        case CrossEntropy():
            softmax = nn.CrossEntropyLoss(label_smoothing=spec.label_smoothing, reduction=spec.reduction)
            return Objective(softmax, binary=False, summed=spec.reduction == "sum")
        case BceWithLogits():
            pos_weight = None if spec.pos_weight is None else torch.tensor([spec.pos_weight], device=device)
            sigmoid = nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction=spec.reduction)
            return Objective(sigmoid, binary=True, summed=spec.reduction == "sum")
