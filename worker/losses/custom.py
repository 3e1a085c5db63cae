"""The losses PyTorch does not ship as modules: RMSE, half the sum of squared errors, and focal loss."""

import torch
import torch.nn.functional as F  # noqa: N812
from torchvision.ops import sigmoid_focal_loss


def rmse(output: torch.Tensor, target: torch.Tensor, *, eps: float) -> torch.Tensor:
    """Square root of the mean squared error plus eps: eps keeps the gradient finite when the error is zero."""
    return torch.sqrt(F.mse_loss(output, target) + eps)


def half_sse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Half the sum of squared errors over the batch."""
    return 0.5 * (output - target).square().sum()


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    return values.sum() if reduction == "sum" else values.mean()


def softmax_focal(
    logits: torch.Tensor, labels: torch.Tensor, *, gamma: float, alpha: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """Multi-class focal loss: -alpha_y (1 - p_y)^gamma log p_y, one term per sample."""
    log_p = F.log_softmax(logits, dim=1).gather(1, labels.unsqueeze(1)).squeeze(1)
    values = -((1.0 - log_p.exp()) ** gamma) * log_p
    if alpha is not None:
        values = values * alpha[labels]
    return _reduce(values, reduction)


def sigmoid_focal(
    logits: torch.Tensor, targets: torch.Tensor, *, gamma: float, alpha: float | None, reduction: str
) -> torch.Tensor:
    """Binary or multi-label focal loss (torchvision's); alpha weighs positives, 1 - alpha negatives."""
    values = sigmoid_focal_loss(logits, targets, alpha=-1.0 if alpha is None else alpha, gamma=gamma, reduction="none")
    return _reduce(values, reduction)
