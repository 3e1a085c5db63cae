"""The catalog matrix: every loss trains a task that suits it, every optimizer trains the same small model.

Each case runs a few epochs on small generated (or bundled) data and asserts that the loss fell, that every metric
is finite, that the job recorded exactly the metrics core.facts promises, and that the model learned something a
user would call learning (a floor on its task's held-out metric).
"""

import math
from typing import Any

import pytest

from core.admission.compatibility import fit_problems
from core.components import COMPONENTS, component_name
from core.facts import recorded_metrics
from core.metrics import METRIC_NAMES
from core.spec import JobSpec
from tests.worker.recording import run

REGRESSION = {"name": "synthetic_regression", "n_samples": 300}
COUNTS = {"name": "synthetic_counts", "n_samples": 300}
CLASSES = {"name": "synthetic_classification", "n_samples": 300, "n_classes": 4, "class_sep": 2.0}
BINARY = {"name": "breast_cancer", "normalize": "standard"}
MULTILABEL = {"name": "synthetic_multilabel", "n_samples": 300}

# loss -> (dataset, held-out metric, its floor). Floors sit well under what 5 epochs reach, well above chance.
LOSS_CASES: dict[str, tuple[dict[str, Any], str, float]] = {
    "l1": (REGRESSION, "val_r2", 0.9),
    "mse": (REGRESSION, "val_r2", 0.9),
    "rmse": (REGRESSION, "val_r2", 0.9),
    "sse": (REGRESSION, "val_r2", 0.9),
    "smooth_l1": (REGRESSION, "val_r2", 0.9),
    "huber": (REGRESSION, "val_r2", 0.9),
    "gaussian_nll": (REGRESSION, "val_r2", 0.8),
    "poisson_nll": (COUNTS, "val_r2", 0.3),
    "margin_ranking": (REGRESSION, "val_ranking_accuracy", 0.8),
    "cross_entropy": (CLASSES, "val_accuracy", 0.9),
    "nll": (CLASSES, "val_accuracy", 0.9),
    "kl_div": (CLASSES, "val_accuracy", 0.9),
    "multi_margin": (CLASSES, "val_accuracy", 0.9),
    "focal": (CLASSES, "val_accuracy", 0.9),
    "cosine_embedding": (CLASSES, "val_centroid_accuracy", 0.9),
    "triplet_margin": (CLASSES, "val_centroid_accuracy", 0.9),
    "bce": (BINARY, "val_f1", 0.9),
    "hinge_embedding": (BINARY, "val_f1", 0.9),
    "soft_margin": (BINARY, "val_f1", 0.9),
    "bce_with_logits": (MULTILABEL, "val_f1", 0.7),
    "multilabel_margin": (MULTILABEL, "val_f1", 0.7),
    "multilabel_soft_margin": (MULTILABEL, "val_f1", 0.7),
}

# optimizer -> its parameters for the shared model (each at a learning rate it is usually run with).
OPTIMIZER_CASES: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "adam": {"lr": 0.01},
    "adamw": {"lr": 0.01, "amsgrad": True},
    "adadelta": {"lr": 1.0},
    "adagrad": {"lr": 0.05},
    "adamax": {"lr": 0.01},
    "asgd": {"lr": 0.05},
    "lbfgs": {"lr": 0.1},
    "nadam": {"lr": 0.01},
    "radam": {"lr": 0.01},
    "rmsprop": {"lr": 0.01, "centered": True, "momentum": 0.5},
    "rprop": {},
}
SHARED = {"dataset": CLASSES, "model": {"name": "mlp", "hidden": [32]}, "loss": "cross_entropy", "epochs": 5}


def _train_and_check(raw: dict[str, Any]) -> dict[str, float]:
    spec = JobSpec.model_validate(raw)
    assert fit_problems(spec) == []
    outcome, recorder = run(raw)
    assert outcome.status == "succeeded" and outcome.epochs == raw["epochs"]
    losses = recorder.series("train_loss")
    assert losses[-1] < losses[0], losses
    assert all(math.isfinite(p.value) for p in recorder.points), recorder.last()
    assert recorder.names() == set(recorded_metrics(spec)) and recorder.names() <= set(METRIC_NAMES)
    return recorder.last()


@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
def test_every_loss_trains_a_task_that_suits_it(loss: str) -> None:
    dataset, metric, floor = LOSS_CASES[loss]
    raw = {
        "dataset": dataset,
        "model": {"name": "mlp", "hidden": [32]},
        "loss": loss,
        "optimizer": {"name": "adam", "lr": 0.01},
        "epochs": 5,
        "batch_size": 32,
    }
    last = _train_and_check(raw)
    assert last[metric] >= floor, last


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_CASES))
def test_every_optimizer_trains_the_same_small_model(optimizer: str) -> None:
    # L-BFGS takes the whole training set per step (its closure re-evaluates it); the others take batches of 32.
    batch_size = None if optimizer == "lbfgs" else 32
    raw = SHARED | {"optimizer": {"name": optimizer, **OPTIMIZER_CASES[optimizer]}, "batch_size": batch_size}
    last = _train_and_check(raw)
    assert last["val_accuracy"] >= 0.6, last


def test_sparse_adam_trains_the_sparse_embedding_bag() -> None:
    # sparse_adam takes only sparse gradients, so it gets the one model that gives them.
    raw = {
        "dataset": {"name": "synthetic_tokens", "n_samples": 300},
        "model": {"name": "embedding_bag", "sparse": True},
        "loss": "cross_entropy",
        "optimizer": {"name": "sparse_adam", "lr": 0.05},
        "epochs": 5,
        "batch_size": 32,
    }
    last = _train_and_check(raw)
    assert last["val_accuracy"] >= 0.6, last


def test_the_matrix_covers_the_whole_catalog() -> None:
    assert set(LOSS_CASES) == {component_name(cls) for cls in COMPONENTS["loss"]}
    optimizers = {component_name(cls) for cls in COMPONENTS["optimizer"]}
    assert set(OPTIMIZER_CASES) | {"sparse_adam"} == optimizers


def _history(loss: Any, dataset: dict[str, Any]) -> list[float]:
    raw = {
        "dataset": dataset,
        "model": {"name": "mlp", "hidden": [16]},
        "loss": loss,
        "optimizer": {"name": "sgd", "lr": 0.1},
        "epochs": 3,
        "batch_size": 64,
    }
    return run(raw)[1].series("val_loss")


@pytest.mark.parametrize(
    ("loss", "same_as", "dataset"),
    [
        ("nll", "cross_entropy", CLASSES),  # log-softmax head + NLL is cross entropy
        ("kl_div", "cross_entropy", CLASSES),  # KL to a one-hot target is cross entropy (batchmean)
        ({"name": "focal", "gamma": 0.0}, "cross_entropy", CLASSES),  # gamma 0, no alpha: cross entropy
        ("soft_margin", "bce_with_logits", BINARY),  # log(1 + exp(-y x)) with +/-1 targets
        ("bce", "bce_with_logits", BINARY),  # sigmoid head + BCE
        ({"name": "focal", "gamma": 0.0}, "bce_with_logits", BINARY),
        ("multilabel_soft_margin", "bce_with_logits", MULTILABEL),
        ({"name": "huber", "delta": 1.0}, {"name": "smooth_l1", "beta": 1.0}, REGRESSION),
    ],
)
def test_head_and_target_adapters_match_the_textbook_identities(
    loss: Any, same_as: Any, dataset: dict[str, Any]
) -> None:
    # The same seed gives the same initial weights and batches, so equal losses give equal histories.
    assert _history(loss, dataset) == pytest.approx(_history(same_as, dataset), rel=1e-4, abs=1e-6)
