"""Target adapters and the custom losses, checked on small tensors against what they promise."""

import pytest
import torch

from worker.losses.custom import half_sse, rmse
from worker.losses.targets import class_partners, label_distribution, label_index_lists, plus_minus, ranking_pairs
from worker.metrics_compute import precision_recall_f1, regression_errors


def test_partners_are_of_the_same_and_of_another_class() -> None:
    torch.manual_seed(0)
    y = torch.tensor([0, 1, 1, 2, 2, 2, 0, 3, 1, 0])
    for _ in range(20):
        positive, negative, has_positive, has_negative = class_partners(y)
        index = torch.arange(len(y))
        assert torch.equal(has_positive, torch.tensor([c != 3 for c in y.tolist()]))  # class 3 is alone
        assert bool(has_negative.all())
        assert bool((y[positive] == y)[has_positive].all()) and bool((positive != index)[has_positive].all())
        assert bool((y[negative] != y).all())


def test_a_batch_of_one_class_has_no_negatives() -> None:
    _, _, has_positive, has_negative = class_partners(torch.zeros(5, dtype=torch.long))
    assert bool(has_positive.all()) and not bool(has_negative.any())


def test_label_forms() -> None:
    assert plus_minus(torch.tensor([0, 1, 1])).tolist() == [-1.0, 1.0, 1.0]
    assert label_distribution(torch.tensor([2]), 4, 0.2).tolist() == [pytest.approx([0.05, 0.05, 0.85, 0.05])]
    rows = torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    assert label_index_lists(rows).tolist() == [[1, 2, -1, -1], [0, -1, -1, -1], [3, -1, -1, -1]]
    partner, sign, valid = ranking_pairs(torch.tensor([1.0, 1.0, 3.0]))
    t = torch.tensor([1.0, 1.0, 3.0])
    assert torch.equal(sign, torch.sign(t - t[partner])) and torch.equal(valid, (sign != 0).float())


def test_rmse_has_a_finite_gradient_at_zero_error_and_sse_is_half_the_sum() -> None:
    output = torch.zeros(4, 1, requires_grad=True)
    loss = rmse(output, torch.zeros(4, 1), eps=1e-8)
    loss.backward()  # type: ignore[no-untyped-call]
    assert output.grad is not None and bool(torch.isfinite(output.grad).all())
    assert loss.item() == pytest.approx(1e-4)  # sqrt(eps)
    assert half_sse(torch.tensor([[1.0], [3.0]]), torch.zeros(2, 1)).item() == 5.0


def test_scores_and_errors() -> None:
    precision, recall, f1 = precision_recall_f1(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 1, 0]))
    assert (precision.item(), recall.item(), f1.item()) == (0.5, 0.5, 0.5)
    mae, rmse_value, r2 = regression_errors(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[1.0], [2.0], [4.0]]))
    assert mae.item() == pytest.approx(1 / 3) and rmse_value.item() == pytest.approx((1 / 3) ** 0.5)
    assert r2.item() == pytest.approx(1 - 1 / (14 / 3))  # SST of [1, 2, 4] is 14/3
