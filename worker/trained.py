"""What a succeeded run hands on to its export: the trained model, the best weights when the job tracked a metric,
the readout its metrics used, and how raw inputs became the model's inputs."""

from dataclasses import dataclass

import torch
from torch import nn

from core.facts import DatasetFacts
from worker.data import RawInputs
from worker.losses.objective import Objective


@dataclass(frozen=True)
class Best:
    """The weights after the epoch with the best value of the watched metric (early stopping), on the CPU."""

    weights: dict[str, torch.Tensor]
    epoch: int
    metric: str
    value: float


@dataclass(frozen=True)
class Trained:
    """A trained model (its final weights, after `epoch` epochs) and what its export needs."""

    model: nn.Module
    objective: Objective
    facts: DatasetFacts
    raw: RawInputs
    epoch: int
    best: Best | None = None


def cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's state dict, contiguous (safetensors stores no other layout)."""
    return {
        name: value.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
        for name, value in model.state_dict().items()
    }
