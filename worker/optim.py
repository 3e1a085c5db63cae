"""Optimizer and learning-rate scheduler builders."""

from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR

from core.components import Adam, CosineLr, OptimizerSpec, SchedulerSpec, Sgd, StepLr


def build_optimizer(spec: OptimizerSpec, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer for this spec over these parameters."""
    match spec:
        case Sgd():
            return torch.optim.SGD(
                params,
                lr=spec.lr,
                momentum=spec.momentum,
                dampening=spec.dampening,
                nesterov=spec.nesterov,
                weight_decay=spec.weight_decay,
            )
        case Adam():
            return torch.optim.Adam(
                params, lr=spec.lr, betas=spec.betas, eps=spec.eps, weight_decay=spec.weight_decay, amsgrad=spec.amsgrad
            )


def build_scheduler(spec: SchedulerSpec | None, optimizer: torch.optim.Optimizer, *, epochs: int) -> LRScheduler | None:
    """The per-epoch learning-rate schedule for this spec, or None for a constant rate."""
    match spec:
        case None:
            return None
        case StepLr():
            return StepLR(optimizer, step_size=spec.step_size, gamma=spec.gamma)
        case CosineLr():
            return CosineAnnealingLR(optimizer, T_max=epochs, eta_min=spec.eta_min)
