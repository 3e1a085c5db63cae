"""The training engine on the CPU: golden results on the classic jobs, every component trains, cancel, divergence."""

import math
from typing import Any

import pytest
import torch

from core.spec import JobSpec
from tests.worker.recording import ListRecorder, run
from worker.engine import Outcome, TrainingFailed, diverged, resolve_device, train

THERMOMETER = {
    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
    "model": "linear",
    "loss": "mse",
    "optimizer": {"name": "sgd", "lr": 1e-2},
    "epochs": 5000,
    "batch_size": None,
}


def test_thermometer_reaches_the_least_squares_optimum() -> None:
    outcome, recorder = run(THERMOMETER)
    assert outcome == Outcome("succeeded", 5000, 5000)
    losses = recorder.series("train_loss")
    assert len(losses) == 5000 and {p.name for p in recorder.points} == {"train_loss", "lr"}
    assert 2.92 < losses[-1] < 3.0  # the least-squares optimum is 2.93
    steps = [p.step for p in recorder.points if p.name == "train_loss"]
    assert steps == list(range(1, 5001))


def test_digits_mlp_adam_reaches_95_percent() -> None:
    outcome, recorder = run(
        {
            "dataset": {"name": "digits", "val_fraction": 0.2},
            "model": {"name": "mlp", "hidden": [128]},
            "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": 1e-3},
            "epochs": 20,
            "batch_size": 64,
        }
    )
    assert outcome.status == "succeeded" and outcome.steps == 20 * math.ceil(1438 / 64)
    assert recorder.series("val_accuracy")[-1] >= 0.95
    assert recorder.series("train_loss")[-1] < recorder.series("train_loss")[0]
    assert recorder.names() == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_top5_accuracy", "lr"}


def test_the_same_seed_gives_the_same_history() -> None:
    raw = {
        "dataset": "synthetic_classification",
        "model": "mlp",
        "loss": "cross_entropy",
        "optimizer": "sgd",
        "epochs": 3,
        "seed": 7,
    }
    first, second = run(raw)[1], run(raw)[1]
    assert first.series("train_loss") == second.series("train_loss")
    assert run(raw | {"seed": 8})[1].series("train_loss") != first.series("train_loss")


@pytest.mark.parametrize(
    "raw",
    [
        {"dataset": "synthetic_regression", "model": "mlp", "loss": "mse", "optimizer": "adam"},
        {
            "dataset": "synthetic_regression",
            "model": "linear",
            "loss": {"name": "l1", "reduction": "sum"},
            "optimizer": {"name": "sgd", "lr": 1e-4, "momentum": 0.9, "nesterov": True},
        },
        {
            "dataset": "synthetic_classification",
            "model": {"name": "mlp", "activation": "tanh", "dropout": 0.1},
            "loss": {"name": "cross_entropy", "label_smoothing": 0.1},
            "optimizer": "adam",
            "scheduler": "step",
        },
        {
            "dataset": {"name": "synthetic_classification", "n_classes": 2},
            "model": "linear",
            "loss": {"name": "bce_with_logits", "pos_weight": 2.0},
            "optimizer": {"name": "sgd", "lr": 0.05},
            "scheduler": "cosine",
        },
        {
            "dataset": {"name": "synthetic_images", "n_samples": 600},
            "model": "cifar_cnn",
            "loss": "cross_entropy",
            "optimizer": {"name": "sgd", "lr": 1e-3, "momentum": 0.9},
        },
    ],
)
def test_every_first_catalog_component_trains(raw: dict[str, Any]) -> None:
    outcome, recorder = run(raw | {"epochs": 4})
    assert outcome.status == "succeeded"
    losses = recorder.series("train_loss")
    assert all(math.isfinite(v) for p in recorder.points for v in [p.value])
    assert losses[-1] < losses[0]


def test_regression_records_mae_and_rmse() -> None:
    _, recorder = run(
        {"dataset": "synthetic_regression", "model": "linear", "loss": "mse", "optimizer": "adam", "epochs": 2}
    )
    assert recorder.names() == {"train_loss", "val_loss", "val_mae", "val_rmse", "val_r2", "lr"}
    val_loss, rmse = recorder.series("val_loss")[-1], recorder.series("val_rmse")[-1]
    assert rmse == pytest.approx(math.sqrt(val_loss), rel=1e-5)


def test_scheduler_changes_the_recorded_lr() -> None:
    _, recorder = run(
        {
            "dataset": "synthetic_regression",
            "model": "linear",
            "loss": "mse",
            "optimizer": {"name": "sgd", "lr": 0.1},
            "scheduler": {"name": "step", "step_size": 2, "gamma": 0.5},
            "epochs": 5,
        }
    )
    assert recorder.series("lr") == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_cancel_stops_between_steps() -> None:
    outcome, _ = run(
        {"dataset": "digits", "model": "mlp", "loss": "cross_entropy", "optimizer": "adam", "epochs": 50},
        ListRecorder(stop_after_checks=30),
    )
    assert outcome.status == "stopped"
    assert outcome.steps == 30 and outcome.epochs == 1


def test_a_loss_blown_up_by_orders_of_magnitude_fails_as_diverged_before_it_overflows() -> None:
    raw = THERMOMETER | {
        "dataset": {"name": "thermometer", "val_fraction": 0.0},
        "optimizer": {"name": "sgd", "lr": 1.0},
    }
    recorder = ListRecorder()
    with pytest.raises(
        TrainingFailed,
        match=r"diverged: train_loss is \S+ at epoch (\d+) \(step \1\), more than 1e\+06 "
        r"times its first value \S+; lower the learning rate",
    ) as failed:
        run(raw, recorder)
    assert failed.value.reason == "diverged"
    losses = recorder.series("train_loss")
    assert all(math.isfinite(v) for v in losses)  # it ended while the loss was still a number
    assert abs(losses[-1]) > 1e6 * abs(losses[0]) and all(abs(v) <= 1e6 * abs(losses[0]) for v in losses[:-1])


def test_a_loss_that_is_not_finite_fails_with_the_last_finite_one() -> None:
    failure = diverged(3, 40, (2.5, 39))
    assert failure.reason == "diverged"
    assert str(failure).startswith(
        "diverged: train_loss is not finite at epoch 3 (step 40); the last finite train_loss was 2.5 at step 39"
    )


def test_lbfgs_defaults_to_the_strong_wolfe_line_search_unlike_torch() -> None:
    spec = JobSpec.model_validate(THERMOMETER | {"optimizer": "lbfgs"})
    assert spec.optimizer.line_search_fn == "strong_wolfe"  # type: ignore[union-attr]
    assert torch.optim.LBFGS([torch.zeros(1, requires_grad=True)]).defaults["line_search_fn"] is None
    outcome, recorder = run(THERMOMETER | {"optimizer": "lbfgs", "epochs": 20})
    assert outcome.status == "succeeded" and 2.92 < recorder.series("train_loss")[-1] < 3.0  # the optimum is 2.93


def test_cuda_asked_for_without_a_gpu_is_a_readable_failure() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(TrainingFailed, match="the spec asks for device 'cuda' but this worker has no CUDA device"):
        resolve_device("cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_digits_trains_on_cuda(precision: str) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    spec = JobSpec.model_validate(
        {
            "dataset": "digits",
            "model": "mlp",
            "loss": "cross_entropy",
            "optimizer": "adam",
            "epochs": 20,
            "device": "cuda",
            "precision": precision,
            "clip_grad_norm": 1.0,  # with fp16, clipping needs the loss scaler's unscale first
        }
    )
    recorder = ListRecorder()
    assert train(spec, recorder, device=resolve_device("cuda")).status == "succeeded"
    assert recorder.series("val_accuracy")[-1] >= 0.95
