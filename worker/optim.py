"""Optimizer builders: each catalog optimizer is its torch.optim class, called with the spec's own fields (the
components use PyTorch's parameter names, so nothing is renamed here)."""

from collections.abc import Iterable

import torch
from torch import optim

from core.components import (
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Asgd,
    Lbfgs,
    NAdam,
    OptimizerComponent,
    OptimizerSpec,
    RAdam,
    RmsProp,
    Rprop,
    Sgd,
    SparseAdam,
)

TORCH_OPTIMIZERS: dict[type[OptimizerComponent], type[optim.Optimizer]] = {
    Sgd: optim.SGD,
    Adam: optim.Adam,
    AdamW: optim.AdamW,
    Adadelta: optim.Adadelta,
    Adagrad: optim.Adagrad,
    Adamax: optim.Adamax,
    Asgd: optim.ASGD,
    Lbfgs: optim.LBFGS,
    NAdam: optim.NAdam,
    RAdam: optim.RAdam,
    RmsProp: optim.RMSprop,
    Rprop: optim.Rprop,
    SparseAdam: optim.SparseAdam,
}


def build_optimizer(spec: OptimizerSpec, params: Iterable[torch.nn.Parameter]) -> optim.Optimizer:
    """The optimizer for this spec over these parameters."""
    return TORCH_OPTIMIZERS[type(spec)](list(params), **spec.model_dump(exclude={"name"}))
