"""The parameter counts core computes without torch (for the server's limits) match the models the worker builds."""

from typing import Any

import pytest

from core.facts import dataset_facts, head_size
from core.model_size import parameter_count
from core.spec import JobSpec
from worker.models import build_model

IMAGES = {"name": "synthetic_images", "channels": 1, "image_size": 28}


@pytest.mark.parametrize(
    ("dataset", "model", "loss"),
    [
        ("iris", {"name": "linear", "bias": False}, "cross_entropy"),
        ("breast_cancer", "logistic", "bce"),
        ("digits", {"name": "mlp", "hidden": [64, 32]}, "cross_entropy"),
        ({"name": "synthetic_images"}, "cifar_cnn", "cross_entropy"),
        (IMAGES, "lenet", "cross_entropy"),
        ({"name": "synthetic_images", "n_classes": 7}, "lenet", {"name": "triplet_margin", "embedding_dim": 5}),
        (IMAGES, "resnet18", "cross_entropy"),
        ({"name": "synthetic_images"}, {"name": "resnet18", "small_inputs": False}, "cross_entropy"),
        ({"name": "synthetic_tokens", "vocab_size": 300}, "embedding_bag", "cross_entropy"),
        ("diabetes", "mlp", "gaussian_nll"),
    ],
)
def test_parameter_count_matches_the_built_model(dataset: Any, model: Any, loss: Any) -> None:
    spec = JobSpec.model_validate({"dataset": dataset, "model": model, "loss": loss, "optimizer": "sgd"})
    built = build_model(spec.model, facts=dataset_facts(spec.dataset), n_out=head_size(spec))
    assert parameter_count(spec) == sum(p.numel() for p in built.parameters())
