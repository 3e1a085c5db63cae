"""Pairings that cannot train are refused at submit time, each with why and what would work; fitting ones pass."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.admission.compatibility import data_problems, fit_problems
from core.spec import JobSpec

BASE: dict[str, Any] = {"dataset": "iris", "model": "mlp", "loss": "cross_entropy", "optimizer": "adam"}


def problems(**overrides: Any) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.loc, p.msg) for p in fit_problems(JobSpec.model_validate(BASE | overrides))]


REFUSALS = [
    (
        {"dataset": "digits", "loss": "bce"},
        ("loss",),
        "loss 'bce' needs two classes or multi-label targets, but dataset 'digits' has 10 classes: use "
        "'cross_entropy', 'nll', 'kl_div' or 'multi_margin', or a dataset such as 'breast_cancer', "
        "'synthetic_multilabel' or 'synthetic_classification'",
    ),
    (
        {"dataset": "diabetes", "loss": "multilabel_margin"},
        ("loss",),
        "loss 'multilabel_margin' needs multi-label targets, but dataset 'diabetes' is a regression: use 'l1', 'mse', "
        "'rmse' or 'sse', or a dataset such as 'synthetic_multilabel'",
    ),
    (
        {"dataset": "diabetes", "loss": "poisson_nll"},
        ("loss",),
        "loss 'poisson_nll' needs count targets, but dataset 'diabetes' is a regression: use 'l1', 'mse', 'rmse' or "
        "'sse', or a dataset such as 'synthetic_counts'",
    ),
    (
        {"dataset": "synthetic_multilabel", "loss": "triplet_margin"},
        ("loss",),
        "loss 'triplet_margin' needs two classes or class labels, but dataset 'synthetic_multilabel' has 5 labels "
        "(multi-label): use 'multilabel_margin', 'multilabel_soft_margin', 'bce' or 'bce_with_logits', or a dataset "
        "such as 'digits', 'iris' or 'wine'",
    ),
    (
        {"loss": {"name": "cross_entropy", "weight": [1.0, 2.0]}},
        ("loss", "weight"),
        "loss 'cross_entropy' weight has 2 values, but the dataset has 3 classes",
    ),
    (
        {"dataset": "breast_cancer", "loss": {"name": "bce_with_logits", "pos_weight": [1.0, 2.0]}},
        ("loss", "pos_weight"),
        "loss 'bce_with_logits' pos_weight has 2 values, but a binary dataset has 1 output per sample",
    ),
    (
        {"loss": {"name": "focal", "alpha": 0.25}},
        ("loss", "alpha"),
        "loss 'focal' on a multi-class dataset takes alpha as one weight per class (a list), not one number",
    ),
    (
        {"model": "cifar_cnn"},
        ("model",),
        "model 'cifar_cnn' needs images, but dataset 'iris' gives real-valued features: use 'mlp' or 'linear'",
    ),
    (
        {"dataset": "digits", "model": "cifar_cnn"},
        ("model",),
        "model 'cifar_cnn' needs 3x32x32 images, but dataset 'digits' gives 1x8x8: use 'synthetic_images' or "
        "'cifar10', or model 'resnet18' or 'mlp'",
    ),
    (
        {"dataset": "digits", "model": "lenet"},
        ("model",),
        "model 'lenet' needs 28x28 or 32x32 images, but dataset 'digits' gives 1x8x8: use 'mnist' or "
        "'synthetic_images', or model 'resnet18' or 'mlp'",
    ),
    (
        {"dataset": "synthetic_tokens"},
        ("model",),
        "model 'mlp' needs real-valued features or images, but dataset 'synthetic_tokens' gives token ids: "
        "use 'embedding_bag'",
    ),
    (
        {"model": "embedding_bag"},
        ("model",),
        "model 'embedding_bag' needs token ids, but dataset 'iris' gives real-valued features: use 'mlp' or 'linear'",
    ),
    (
        {"dataset": "diabetes", "model": "logistic", "loss": "mse"},
        ("model",),
        "model 'logistic' is a classifier, but dataset 'diabetes' is a regression: use model 'linear' or 'mlp'",
    ),
    (
        {"optimizer": "sparse_adam"},
        ("optimizer",),
        "optimizer 'sparse_adam' takes only sparse gradients, but model 'mlp' gives dense ones: use 'adam', or "
        "model 'embedding_bag' with sparse true on a token dataset ('synthetic_tokens')",
    ),
    (
        {"dataset": "synthetic_tokens", "model": {"name": "embedding_bag", "sparse": True}},
        ("optimizer",),
        "model 'embedding_bag' with sparse true gives sparse gradients, which optimizer 'adam' cannot take: use "
        "'sparse_adam', 'sgd' or 'adagrad', or set the model's sparse to false",
    ),
    (
        {
            "dataset": "synthetic_tokens",
            "model": {"name": "embedding_bag", "sparse": True},
            "optimizer": {"name": "sgd", "weight_decay": 0.01},
        },
        ("optimizer", "weight_decay"),
        "optimizer 'sgd' cannot decay sparse gradients: set weight_decay to 0, or sparse to false",
    ),
    (
        {
            "dataset": "synthetic_tokens",
            "model": {"name": "embedding_bag", "sparse": True},
            "optimizer": "sparse_adam",
            "clip_grad_value": 1.0,
        },
        ("clip_grad_value",),
        "clip_grad_value cannot clip sparse gradients: use clip_grad_norm, or set the model's sparse to false",
    ),
    (
        {"optimizer": "lbfgs", "precision": "fp16"},
        ("precision",),
        "optimizer 'lbfgs' cannot take fp16 loss scaling (its closure re-evaluates the loss): use 'bf16' or 'fp32'",
    ),
    (
        {"optimizer": "adagrad", "scheduler": "one_cycle"},
        ("scheduler", "cycle_momentum"),
        "scheduler 'one_cycle' cycles momentum, which optimizer 'adagrad' does not have: set cycle_momentum to "
        "false, or use 'sgd', 'adam' or 'rmsprop'",
    ),
    (
        {"dataset": {"name": "iris", "val_fraction": 0.0}, "early_stopping": {"metric": "val_accuracy"}},
        ("early_stopping", "metric"),
        "early_stopping watches 'val_accuracy', which this job does not record: use one of train_loss, train_accuracy",
    ),
    (
        {"scheduler": {"name": "reduce_on_plateau", "metric": "val_mae"}},
        ("scheduler", "metric"),
        "reduce_on_plateau watches 'val_mae', which this job does not record: use one of train_loss, train_accuracy, "
        "val_loss, val_accuracy",
    ),
    (
        {"loss": "triplet_margin", "batch_size": 1},
        ("batch_size",),
        "loss 'triplet_margin' pairs samples within a batch, so it needs batch_size 2 or more (or null)",
    ),
    (
        {"precision": "fp16", "device": "cpu"},
        ("precision",),
        "precision 'fp16' needs CUDA, but device is 'cpu': use 'bf16' or 'fp32', or device 'cuda' or 'auto'",
    ),
    (
        {"channels_last": True},
        ("channels_last",),
        "channels_last needs a convolutional model on image inputs (cifar_cnn, lenet, resnet18), but model 'mlp' is "
        "not convolutional: set channels_last to false, or use one of those models on an image dataset "
        "('synthetic_images')",
    ),
    (
        {"dataset": "digits", "model": "linear", "channels_last": True, "compile": True},
        ("channels_last",),
        "channels_last needs a convolutional model on image inputs (cifar_cnn, lenet, resnet18), but model 'linear' "
        "is not convolutional: set channels_last to false, or use one of those models",
    ),
]


@pytest.mark.parametrize(("overrides", "loc", "message"), REFUSALS)
def test_a_pairing_that_cannot_work_is_refused_with_why_and_what_works(
    overrides: dict[str, Any], loc: tuple[str, ...], message: str
) -> None:
    assert problems(**overrides) == [(loc, message)]


@pytest.mark.parametrize(
    "overrides",
    [
        {"dataset": "breast_cancer", "loss": "bce"},
        {"dataset": "synthetic_multilabel", "loss": {"name": "bce_with_logits", "pos_weight": [2.0] * 5}},
        {"dataset": "breast_cancer", "loss": {"name": "focal", "alpha": 0.75}},
        {"loss": {"name": "focal", "alpha": [1.0, 2.0, 3.0]}},
        {"dataset": "synthetic_counts", "loss": "poisson_nll"},
        {"dataset": "diabetes", "loss": "margin_ranking", "model": "linear"},
        {"dataset": "synthetic_tokens", "model": {"name": "embedding_bag", "sparse": True}, "optimizer": "sparse_adam"},
        {"dataset": "mnist", "model": "lenet"},
        {"dataset": "cifar10", "model": "resnet18"},
        {"scheduler": {"name": "reduce_on_plateau", "metric": "val_accuracy"}, "early_stopping": {}},
        {"optimizer": "adagrad", "scheduler": {"name": "one_cycle", "cycle_momentum": False}},
        # Both are CUDA speed-ups that also run (with the same numbers) on the CPU, so no device is refused.
        {"dataset": "mnist", "model": "lenet", "channels_last": True, "compile": True, "device": "cpu"},
        {"dataset": "cifar10", "model": "resnet18", "channels_last": True, "precision": "bf16"},
        {"compile": True, "optimizer": "lbfgs", "log_every_steps": 1, "device": "cpu"},
    ],
)
def test_pairings_that_suit_each_other_pass(overrides: dict[str, Any]) -> None:
    assert problems(**overrides) == []


@pytest.mark.parametrize(
    ("component", "loc", "needle"),
    [
        ({"optimizer": {"name": "adamw", "betas": [0.9, 1.0]}}, ("optimizer", "adamw", "betas"), "betas must each"),
        ({"optimizer": {"name": "rmsprop", "momentum": 1.0}}, ("optimizer", "rmsprop", "momentum"), "less than 1"),
        ({"optimizer": {"name": "nadam", "lr": -1}}, ("optimizer", "nadam", "lr"), "greater than 0"),
        ({"loss": {"name": "huber", "delta": float("nan")}}, ("loss", "huber", "delta"), "finite number"),
        ({"loss": {"name": "triplet_margin", "swapp": True}}, ("loss", "triplet_margin", "swapp"), "Extra inputs"),
        ({"scheduler": {"name": "multistep", "milestones": [5, 3]}}, ("scheduler", "multistep"), "strictly increasing"),
        ({"model": {"name": "embedding_bag", "sparse": True, "mode": "max"}}, ("model", "embedding_bag"), "sparse"),
        ({"early_stopping": {"patience": 0}}, ("early_stopping", "patience"), "greater than or equal to 1"),
        ({"scheduler": {"name": "warmup", "then": {"name": "one_cycle"}}}, ("scheduler", "linear_warmup", "then"), ""),
    ],
)
def test_parameters_out_of_bounds_name_the_field(component: dict[str, Any], loc: tuple[str, ...], needle: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JobSpec.model_validate(BASE | component)
    [error] = caught.value.errors()
    assert error["loc"] == loc and needle in error["msg"]


def test_a_torchvision_dataset_missing_from_the_data_dir_is_refused(tmp_path: Path) -> None:
    spec = JobSpec.model_validate(BASE | {"dataset": "mnist", "model": "lenet"})
    [problem] = data_problems(spec, data_dir=tmp_path, download=False)
    assert problem.loc == ("dataset",) and problem.msg == (
        f"dataset 'mnist' is not in GRADYARD_DATA_DIR={tmp_path}: put the torchvision files there (expected "
        f"{tmp_path}/MNIST/raw/train-images-idx3-ubyte and the rest of torchvision's layout) or set "
        "GRADYARD_DOWNLOAD_DATASETS=on"
    )
    assert data_problems(spec, data_dir=tmp_path, download=True) == []
    assert data_problems(JobSpec.model_validate(BASE), data_dir=tmp_path, download=False) == []
