"""Targets in the form each loss takes: +/-1 labels, distributions, label-index lists, pairs and triplets.

Everything is vectorized on the device (no host sync, no Python loop over samples), and the pairs and triplets are
drawn once per batch, so a closure that re-evaluates the loss (L-BFGS) sees the same ones.
"""

import torch
import torch.nn.functional as F  # noqa: N812


def plus_minus(y: torch.Tensor) -> torch.Tensor:
    """0/1 labels (or multi-hot rows) as -1/+1 floats, the form the margin losses take."""
    return y.float() * 2.0 - 1.0


def as_columns(y: torch.Tensor) -> torch.Tensor:
    """Binary labels (N,) as float (N, 1) matching a one-output head; multi-hot (N, L) rows unchanged."""
    return y.float().unsqueeze(1) if y.dim() == 1 else y.float()


def label_distribution(y: torch.Tensor, n_classes: int, smoothing: float) -> torch.Tensor:
    """One-hot targets with `smoothing` of the mass spread evenly over all classes (as cross entropy smooths)."""
    one_hot = F.one_hot(y, n_classes).float()
    return one_hot * (1.0 - smoothing) + smoothing / n_classes


def label_index_lists(multi_hot: torch.Tensor) -> torch.Tensor:
    """Multi-hot rows as MultiLabelMarginLoss wants them: each row's label indices first, then -1 padding."""
    n_labels = multi_hot.shape[1]
    positions = torch.arange(n_labels, device=multi_hot.device).expand_as(multi_hot)
    keyed = torch.where(multi_hot > 0.5, positions, n_labels)
    ordered = keyed.sort(dim=1).values
    return torch.where(ordered == n_labels, -1, ordered)


def class_partners(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each sample, a random other sample of its class and one of another class, with whether each exists.

    Shuffle, group the batch by class, then take the next member of the same group (cyclically) as the positive and
    a uniformly drawn position outside the group as the negative. O(n log n), no n x n matrix.
    """
    n = y.shape[0]
    shuffled = torch.randperm(n, device=y.device)
    order = shuffled[torch.argsort(y[shuffled], stable=True)]
    labels = y[order]
    start = torch.searchsorted(labels, labels, right=False)
    end = torch.searchsorted(labels, labels, right=True)
    size = end - start
    position = torch.arange(n, device=y.device)
    next_in_group = start + (position - start + 1) % size
    outside = n - size
    offset = (torch.rand(n, device=y.device) * outside.clamp_min(1)).long()
    negative_pos = (end + offset) % n
    positive = torch.empty_like(order)
    negative = torch.empty_like(order)
    positive[order] = order[next_in_group]
    negative[order] = order[negative_pos]
    has_positive = torch.empty_like(size, dtype=torch.bool)
    has_negative = torch.empty_like(size, dtype=torch.bool)
    has_positive[order] = size > 1
    has_negative[order] = outside > 0
    return positive, negative, has_positive, has_negative


def similarity_pairs(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each sample paired with a same-class (+1) or other-class (-1) partner, half of each: (partner, sign, valid)."""
    positive, negative, has_positive, has_negative = class_partners(y)
    same = torch.rand(y.shape[0], device=y.device) < 0.5
    partner = torch.where(same, positive, negative)
    sign = torch.where(same, 1.0, -1.0)
    return partner, sign, torch.where(same, has_positive, has_negative).float()


def triplets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each sample as an anchor with a same-class positive and an other-class negative: (positive, negative, valid)."""
    positive, negative, has_positive, has_negative = class_partners(y)
    return positive, negative, (has_positive & has_negative).float()


def ranking_pairs(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each sample paired with a random one, sign +1 if its target is larger, -1 if smaller: (partner, sign, valid)."""
    partner = torch.randperm(t.shape[0], device=t.device)
    sign = torch.sign(t - t[partner])
    return partner, sign, (sign != 0).float()
