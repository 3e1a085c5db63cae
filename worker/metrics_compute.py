"""Metrics per head kind, computed on the device as 0-d tensors (the engine syncs them with the host once).

Classification: accuracy, top-5 accuracy (more than 5 classes), precision, recall and F1 of the positive class
(binary) or micro-averaged over labels (multi-label). Regression: MAE, RMSE, R^2. Embeddings: nearest-centroid
accuracy. Ranking: the share of pairs ordered like their targets.
"""

import torch

from core.facts import HeadKind


def accuracy(predicted: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The share of samples predicted exactly (every label right, for multi-label rows)."""
    hits = predicted == y
    return (hits.all(dim=1) if hits.dim() > 1 else hits).float().mean()


def correct_count(predicted: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """How many samples were predicted exactly."""
    hits = predicted == y
    return (hits.all(dim=1) if hits.dim() > 1 else hits).sum()


def top_k_accuracy(scores: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """The share of samples whose class is among the k highest scores."""
    top = scores.topk(k, dim=1).indices
    return (top == y.unsqueeze(1)).any(dim=1).float().mean()


def precision_recall_f1(predicted: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Precision, recall and F1 of the positive class (binary) or over all labels (multi-label, micro); 0 if none."""
    predicted_on, truly_on = predicted.bool(), y.bool()
    true_pos = (predicted_on & truly_on).sum().float()
    precision = true_pos / predicted_on.sum().clamp_min(1)
    recall = true_pos / truly_on.sum().clamp_min(1)
    f1 = 2 * true_pos / (predicted_on.sum() + truly_on.sum()).clamp_min(1)
    return [precision, recall, f1]


def regression_errors(predicted: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """MAE, RMSE and R^2 (1 - SSE/SST; SST of the held-out targets)."""
    error = predicted - y
    sse = error.square().sum()
    sst = (y - y.mean()).square().sum()
    r2 = 1.0 - sse / sst.clamp_min(torch.finfo(sst.dtype).tiny)
    return [error.abs().mean(), error.square().mean().sqrt(), r2]


def centroids(embeddings: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The mean embedding of each class (a class with no samples sits at the origin)."""
    sums = torch.zeros(n_classes, embeddings.shape[1], device=embeddings.device).index_add_(0, y, embeddings)
    counts = torch.bincount(y, minlength=n_classes).clamp_min(1).unsqueeze(1)
    return sums / counts


def centroid_accuracy(embeddings: torch.Tensor, y: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """The share of samples whose nearest class centroid is their own class's."""
    return (torch.cdist(embeddings, means).argmin(dim=1) == y).float().mean()


def ranking_accuracy(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Over neighbouring pairs (i, i+1) with different targets, the share whose scores are ordered like the targets."""
    t = y.float().reshape(len(y), -1)[:, 0]
    target_order = torch.sign(t - t.roll(1))
    score_order = torch.sign(scores - scores.roll(1))
    valid = target_order != 0
    return ((score_order == target_order) & valid).sum() / valid.sum().clamp_min(1)


def validation_metrics(
    kind: HeadKind, output: torch.Tensor, predicted: torch.Tensor, y: torch.Tensor
) -> list[torch.Tensor]:
    """The validation metrics of a head kind, in core.facts.recorded_metrics order (embeddings: see the engine)."""
    match kind:
        case "regression":
            return regression_errors(predicted, y)
        case "ranking":
            return [ranking_accuracy(predicted, y)]
        case "binary" | "multilabel":
            return [accuracy(predicted, y), *precision_recall_f1(predicted, y)]
    n_classes = output.shape[1]
    if n_classes == 2:
        return [accuracy(predicted, y), *precision_recall_f1(predicted, y)]
    top5 = [top_k_accuracy(output, y, 5)] if n_classes > 5 else []
    return [accuracy(predicted, y), *top5]
