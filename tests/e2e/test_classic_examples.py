"""The classic examples through the API, with their numbers: a CNN on image-shaped data, focal loss on an
imbalanced set, robust losses on a regression whose training targets have outliers; and early stopping."""

from typing import Any

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

CIFAR_CNN = {
    "name": "cifar-cnn-sgd",
    "dataset": {"name": "synthetic_images", "n_samples": 600},
    "model": {"name": "cifar_cnn"},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "sgd", "lr": 1e-3, "momentum": 0.9},
    "epochs": 5,
    "batch_size": 32,
}
# 95 % of class 0, 5 % of class 1 (the positive class, so val_recall is the minority's recall), overlapping.
IMBALANCED = {
    "dataset": {
        "name": "synthetic_classification",
        "n_samples": 4000,
        "n_features": 2,
        "n_classes": 2,
        "class_weights": [0.95, 0.05],
        "class_sep": 1.5,
        "val_fraction": 0.5,
    },
    "model": {"name": "mlp", "hidden": [32]},
    "optimizer": {"name": "adam", "lr": 0.01},
    "epochs": 10,
    "batch_size": 64,
    "seed": 1,
}
# A tenth of the training targets pushed 20 standard deviations away; the held-out targets are clean.
OUTLIERS = {
    "dataset": {"name": "synthetic_regression", "n_samples": 1000, "outlier_fraction": 0.1, "outlier_scale": 20},
    "model": {"name": "linear"},
    "optimizer": {"name": "adam", "lr": 0.05},
    "epochs": 30,
    "batch_size": 64,
}


def finals(stack: Stack, specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Submit every spec, wait for each, and return each job's last value of every metric."""
    ids = {label: stack.submit(spec) for label, spec in specs.items()}
    result = {}
    for label, job_id in ids.items():
        job = stack.wait(job_id, timeout=300)
        assert job["status"] == "succeeded", job["error"]
        result[label] = {name: summary["last"] for name, summary in job["metrics"].items()}
    return result


def test_the_two_conv_cifar_cnn_learns_image_shaped_data_with_sgd_and_momentum(stack: Stack) -> None:
    job = stack.wait(stack.submit(CIFAR_CNN), timeout=300)
    assert job["status"] == "succeeded", job["error"]
    history = stack.metrics(job["id"])["metrics"]
    loss, accuracy = history["train_loss"]["value"], history["val_accuracy"]["value"]
    assert loss[0] > 2.0 and loss[-1] < 1.5  # from chance (ln 10 = 2.30) down
    assert accuracy[0] < 0.5 and accuracy[-1] >= 0.9  # 10 classes: chance is 0.1
    assert history["val_top5_accuracy"]["value"][-1] >= accuracy[-1]


def test_focal_loss_beats_cross_entropy_on_minority_recall(stack: Stack) -> None:
    result = finals(
        stack,
        {
            "cross_entropy": IMBALANCED | {"loss": {"name": "cross_entropy"}},
            "focal": IMBALANCED | {"loss": {"name": "focal", "gamma": 2.0, "alpha": 0.75}},
        },
    )
    plain, focal = result["cross_entropy"], result["focal"]
    assert focal["val_recall"] >= plain["val_recall"] + 0.1, (plain, focal)  # 0.86 against 0.73 when written
    assert focal["val_accuracy"] >= 0.95 and plain["val_accuracy"] >= 0.95  # the majority is not given up for it


def test_huber_and_l1_beat_mse_on_held_out_error_when_training_has_outliers(stack: Stack) -> None:
    result = finals(stack, {name: OUTLIERS | {"loss": {"name": name}} for name in ("mse", "huber", "l1")})
    mse = result["mse"]
    for robust in ("huber", "l1"):
        # about 0.12 against 1.5 when written: the outliers pull the least-squares fit, not the robust ones
        assert result[robust]["val_rmse"] < mse["val_rmse"] / 5, result
        assert result[robust]["val_mae"] < mse["val_mae"] / 5, result
        assert result[robust]["val_r2"] > 0.99 > mse["val_r2"], result


def test_early_stopping_ends_the_job_succeeded_before_its_last_epoch(stack: Stack) -> None:
    stagnant = {
        "dataset": {"name": "synthetic_regression", "n_samples": 250},
        "model": "linear",
        "loss": "mse",
        "optimizer": {"name": "sgd", "lr": 1e-6},
        "epochs": 50,
        "early_stopping": {"metric": "val_loss", "patience": 2, "min_delta": 1e-3},
    }
    job = stack.wait(stack.submit(stagnant))
    assert (job["status"], job["reason"], job["error"]) == ("succeeded", "stopped_early", None)
    assert job["progress"]["epoch"] == 3 and job["spec"]["epochs"] == 50
    ended = stack.job(job["id"])["events"][-1]
    assert ended["status"] == "succeeded"
    assert ended["detail"].startswith("stopped early at epoch 3: val_loss did not improve by more than 0.001")
    assert stack.metrics(job["id"])["metrics"]["val_loss"]["epoch"] == [1, 2, 3]
