"""The epoch's evaluation: validation loss and metrics, and for embeddings the class centroids they need."""

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from worker.data import Split, TensorData
from worker.losses.objective import Objective
from worker.metrics_compute import centroid_accuracy, centroids, validation_metrics

EVAL_CHUNK = 8192
# On the CPU a chunk that outgrows the caches is slow: a cifar_cnn forward over 2,000 images took 2.5 s in one chunk
# and 1.3 s in chunks of 64 (bench_training). So CPU chunks hold about this many input values.
CPU_CHUNK_VALUES = 2**18
Autocast = Callable[[], contextlib.AbstractContextManager[None]]


@torch.no_grad()
def outputs(model: nn.Module, x: torch.Tensor, autocast: Autocast) -> torch.Tensor:
    """The model's outputs for every sample, in chunks, as float32."""
    per_sample = max(1, x.shape[1:].numel())
    chunk = EVAL_CHUNK if x.device.type == "cuda" else max(32, min(EVAL_CHUNK, CPU_CHUNK_VALUES // per_sample))
    with autocast():
        return torch.cat([model(x[i : i + chunk]).float() for i in range(0, len(x), chunk)])


@torch.no_grad()
def _embedding_metrics(
    model: nn.Module, data: TensorData, objective: Objective, autocast: Autocast
) -> dict[str, torch.Tensor]:
    train_embeddings = objective.readout(outputs(model, data.train.x, autocast))
    means = centroids(train_embeddings, data.train.y, data.facts.n_classes)
    metrics = {"train_centroid_accuracy": centroid_accuracy(train_embeddings, data.train.y, means)}
    if data.val is not None:
        val_embeddings = objective.readout(outputs(model, data.val.x, autocast))
        metrics["val_centroid_accuracy"] = centroid_accuracy(val_embeddings, data.val.y, means)
    return metrics


@torch.no_grad()
def _validation(
    model: nn.Module, val: Split, objective: Objective, autocast: Autocast, names: list[str]
) -> dict[str, torch.Tensor]:
    output = outputs(model, val.x, autocast)
    loss = objective.total(objective.loss(output, objective.prepare(val.y)), len(val)) / len(val)
    metrics = {"val_loss": loss}
    if objective.kind != "embedding":
        values = validation_metrics(objective.kind, output, objective.readout(output), val.y)
        metrics |= dict(zip(names, values, strict=True))
    return metrics


def evaluate(
    model: nn.Module, data: TensorData, objective: Objective, autocast: Autocast, val_names: list[str]
) -> dict[str, torch.Tensor]:
    """The epoch-end metrics besides the training loss: validation loss and metrics, centroid accuracies."""
    model.eval()
    metrics: dict[str, torch.Tensor] = {}
    if objective.kind == "embedding":
        metrics |= _embedding_metrics(model, data, objective, autocast)
    if data.val is not None:
        metrics |= _validation(model, data.val, objective, autocast, val_names)
    return metrics


def counts_correct(objective: Objective) -> bool:
    """Whether training batches add to a train_accuracy (classification heads)."""
    return objective.kind in ("classes", "binary", "multilabel")
