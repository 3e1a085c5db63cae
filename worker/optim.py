"""Optimizer builders: each catalog optimizer with its PyTorch parameters."""

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
    OptimizerSpec,
    RAdam,
    RmsProp,
    Rprop,
    Sgd,
    SparseAdam,
)


def _adam_family(spec: OptimizerSpec, params: list[torch.nn.Parameter]) -> optim.Optimizer | None:
    match spec:
        case Adam():
            return optim.Adam(params, spec.lr, spec.betas, spec.eps, spec.weight_decay, amsgrad=spec.amsgrad)
        case AdamW():
            return optim.AdamW(params, spec.lr, spec.betas, spec.eps, spec.weight_decay, amsgrad=spec.amsgrad)
        case Adamax():
            return optim.Adamax(params, spec.lr, spec.betas, spec.eps, spec.weight_decay)
        case NAdam():
            return optim.NAdam(
                params,
                spec.lr,
                spec.betas,
                spec.eps,
                spec.weight_decay,
                spec.momentum_decay,
                decoupled_weight_decay=spec.decoupled_weight_decay,
            )
        case RAdam():
            return optim.RAdam(
                params,
                spec.lr,
                spec.betas,
                spec.eps,
                spec.weight_decay,
                decoupled_weight_decay=spec.decoupled_weight_decay,
            )
        case SparseAdam():
            return optim.SparseAdam(params, spec.lr, spec.betas, spec.eps)
    return None


def _others(spec: OptimizerSpec, params: list[torch.nn.Parameter]) -> optim.Optimizer:
    match spec:
        case Sgd():
            return optim.SGD(params, spec.lr, spec.momentum, spec.dampening, spec.weight_decay, spec.nesterov)
        case Adadelta():
            return optim.Adadelta(params, spec.lr, spec.rho, spec.eps, spec.weight_decay)
        case Adagrad():
            return optim.Adagrad(
                params, spec.lr, spec.lr_decay, spec.weight_decay, spec.initial_accumulator_value, spec.eps
            )
        case Asgd():
            return optim.ASGD(params, spec.lr, spec.lambd, spec.alpha, spec.t0, spec.weight_decay)
        case Lbfgs():
            return optim.LBFGS(
                params,
                spec.lr,
                spec.max_iter,
                spec.max_eval,
                spec.tolerance_grad,
                spec.tolerance_change,
                spec.history_size,
                spec.line_search_fn,
            )
        case RmsProp():
            return optim.RMSprop(
                params, spec.lr, spec.alpha, spec.eps, spec.weight_decay, spec.momentum, centered=spec.centered
            )
        case Rprop():
            return optim.Rprop(params, spec.lr, spec.etas, spec.step_sizes)
    raise AssertionError(f"no builder for optimizer {spec.name}")


def build_optimizer(spec: OptimizerSpec, params: Iterable[torch.nn.Parameter]) -> optim.Optimizer:
    """The optimizer for this spec over these parameters."""
    listed = list(params)
    return _adam_family(spec, listed) or _others(spec, listed)
