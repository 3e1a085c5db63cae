"""The worker's class-to-torch table of optimizers covers the catalog, and each spec's fields are torch's keywords."""

import pytest
import torch

from core.components import OPTIMIZERS, OptimizerComponent, component_name
from worker.optim import TORCH_OPTIMIZERS, build_optimizer


def test_every_catalog_optimizer_has_its_torch_class() -> None:
    assert set(TORCH_OPTIMIZERS) == set(OPTIMIZERS)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=component_name)
def test_each_optimizer_builds_from_its_defaults(cls: type[OptimizerComponent]) -> None:
    spec = cls.model_validate({"name": component_name(cls)})
    weight = torch.nn.Parameter(torch.zeros(3))
    built = build_optimizer(spec, [weight])
    assert type(built) is TORCH_OPTIMIZERS[cls]
    assert built.param_groups[0]["lr"] == spec.lr  # type: ignore[attr-defined]
