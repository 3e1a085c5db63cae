"""The job spec refuses nonsense up front: unknown names and fields, bounds, non-finite numbers, misfits."""

from typing import Any

import pytest
from pydantic import ValidationError

from core.admission import check_spec
from core.admission.compatibility import fit_problems
from core.catalog import build_catalog
from core.errors import SpecRejected
from core.settings import Settings
from core.spec import JobSpec


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "dataset": {"name": "digits", "val_fraction": 0.2},
        "model": {"name": "mlp", "hidden": [128]},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "adam", "lr": 0.001},
    }
    return base | overrides


def errors_of(raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        JobSpec.model_validate(raw)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_defaults_are_filled_in() -> None:
    resolved = JobSpec.model_validate(spec()).model_dump(mode="json")
    assert resolved["optimizer"] == {
        "name": "adam",
        "lr": 0.001,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert resolved["epochs"] == 10 and resolved["batch_size"] == 64 and resolved["scheduler"] is None


def test_channels_last_and_compile_are_off_unless_asked_for_and_only_take_booleans() -> None:
    resolved = JobSpec.model_validate(spec()).model_dump(mode="json")
    assert (resolved["channels_last"], resolved["compile"]) == (False, False)
    assert JobSpec.model_validate(spec(compile=True, channels_last=True)).compile is True
    assert errors_of(spec(compile="fast")) == [(("compile",), "Input should be a valid boolean")]
    schema = JobSpec.model_json_schema()["properties"]
    assert schema["compile"]["default"] is False and "torch.compile" in schema["compile"]["description"]
    assert schema["channels_last"]["default"] is False and "CUDA" in schema["channels_last"]["description"]


def test_pytorch_class_names_are_aliases() -> None:
    parsed = JobSpec.model_validate(spec(loss={"name": "CrossEntropyLoss"}, optimizer={"name": "SGD", "lr": 0.1}))
    assert (parsed.loss.name, parsed.optimizer.name) == ("cross_entropy", "sgd")


def test_unknown_name_suggests_close_matches() -> None:
    [(loc, msg)] = errors_of(spec(loss={"name": "cross_entropi"}))
    assert loc == ("loss",)
    assert msg == (
        "unknown loss 'cross_entropi': did you mean 'cross_entropy'? known losses: bce, bce_with_logits, "
        "cosine_embedding, cross_entropy, focal, gaussian_nll, hinge_embedding, huber, kl_div, l1, margin_ranking, "
        "mse, multi_margin, multilabel_margin, multilabel_soft_margin, nll, poisson_nll, rmse, smooth_l1, "
        "soft_margin, sse, triplet_margin"
    )
    [(_, msg)] = errors_of(spec(optimizer={"name": "adamx"}))
    assert msg.startswith(
        "unknown optimizer 'adamx': did you mean 'adam', 'adamax' or 'radam'? known optimizers: adadelta, "
    )


def test_unknown_field_is_refused() -> None:
    assert errors_of(spec(optimizer={"name": "adam", "lr": 0.01, "momentun": 0.9})) == [
        (("optimizer", "adam", "momentun"), "Extra inputs are not permitted")
    ]
    assert errors_of(spec(epoch=5)) == [(("epoch",), "Extra inputs are not permitted")]


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"optimizer": {"name": "sgd", "lr": -0.1}}, ("optimizer", "sgd", "lr")),
        ({"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 1.0}}, ("optimizer", "sgd", "momentum")),
        ({"optimizer": {"name": "adam", "lr": float("nan")}}, ("optimizer", "adam", "lr")),
        ({"optimizer": {"name": "adam", "lr": float("inf")}}, ("optimizer", "adam", "lr")),
        ({"epochs": 0}, ("epochs",)),
        ({"batch_size": 0}, ("batch_size",)),
        ({"dataset": {"name": "digits", "val_fraction": 0.95}}, ("dataset", "digits", "val_fraction")),
        ({"model": {"name": "mlp", "dropout": 1.0}}, ("model", "mlp", "dropout")),
    ],
)
def test_out_of_bounds_and_non_finite_numbers_name_the_field(overrides: dict[str, Any], loc: tuple[str, ...]) -> None:
    assert [error_loc for error_loc, _ in errors_of(spec(**overrides))] == [loc]


def test_betas_and_nesterov_rules() -> None:
    [(_, msg)] = errors_of(spec(optimizer={"name": "adam", "betas": [0.9, 1.0]}))
    assert "betas must each be in [0, 1)" in msg
    [(_, msg)] = errors_of(spec(optimizer={"name": "sgd", "nesterov": True}))
    assert "nesterov needs momentum > 0" in msg


def test_a_loss_that_does_not_fit_the_dataset_says_why_and_what_works() -> None:
    parsed = JobSpec.model_validate(spec(loss={"name": "bce_with_logits"}))
    with pytest.raises(SpecRejected) as caught:
        check_spec(parsed, Settings())
    [problem] = caught.value.problems
    assert problem.loc == ("loss",)
    assert problem.msg == (
        "loss 'bce_with_logits' needs two classes or multi-label targets, but dataset 'digits' has 10 classes: "
        "use 'cross_entropy', 'nll', 'kl_div' or 'multi_margin', "
        "or a dataset such as 'breast_cancer', 'synthetic_multilabel' or 'synthetic_classification'"
    )


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (
            {"loss": {"name": "mse"}},
            "loss 'mse' needs a real-valued target or count targets, but dataset 'digits' has 10 classes",
        ),
        (
            {"dataset": {"name": "thermometer"}},
            "loss 'cross_entropy' needs two classes or class labels, but dataset 'thermometer' is a regression",
        ),
        ({"model": {"name": "cifar_cnn"}}, "model 'cifar_cnn' needs 3x32x32 images, but dataset 'digits' gives 1x8x8"),
    ],
)
def test_misfits_are_refused(overrides: dict[str, Any], needle: str) -> None:
    messages = [p.msg for p in fit_problems(JobSpec.model_validate(spec(**overrides)))]
    assert any(message.startswith(needle) for message in messages), messages


def test_fitting_specs_pass() -> None:
    assert fit_problems(JobSpec.model_validate(spec())) == []
    images = spec(dataset={"name": "synthetic_images"}, model={"name": "cifar_cnn"})
    assert fit_problems(JobSpec.model_validate(images)) == []


def test_catalog_lists_every_component_with_bounds_tasks_and_description() -> None:
    catalog = build_catalog()
    assert {kind: len(entries) for kind, entries in catalog.items()} == {
        "datasets": 16,  # the 15 built-ins and 'upload' (your own data)
        "models": 7,
        "losses": 22,
        "optimizers": 13,
        "schedulers": 8,
    }
    sgd = next(entry for entry in catalog["optimizers"] if entry["name"] == "sgd")
    assert sgd["aliases"] == ["SGD"]
    assert sgd["parameters"]["lr"] == {
        "default": 0.001,
        "description": "Learning rate.",
        "exclusiveMinimum": 0.0,
        "maximum": 10.0,
        "type": "number",
    }
    assert sgd["parameters"]["momentum"]["exclusiveMaximum"] == 1.0
    focal = next(entry for entry in catalog["losses"] if entry["name"] == "focal")
    assert focal["tasks"] == ["binary_classification", "multiclass_classification", "multilabel_classification"]
    assert focal["description"].startswith("Focal loss (Lin et al.): cross entropy scaled by (1 - p)^gamma")
    assert focal["parameters"]["gamma"] == {
        "default": 2.0,
        "description": "Focusing strength; 0 is cross entropy.",
        "maximum": 20.0,
        "minimum": 0.0,
        "type": "number",
    }
    mnist = next(entry for entry in catalog["datasets"] if entry["name"] == "mnist")
    assert mnist["inputs"] == ["images"] and mnist["tasks"] == ["multiclass_classification"]
    warmup = next(entry for entry in catalog["schedulers"] if entry["name"] == "linear_warmup")
    then = [option["properties"]["name"]["const"] for option in warmup["parameters"]["then"]["anyOf"][0]["oneOf"]]
    assert then == ["step", "multistep", "exponential", "cosine", "cosine_warm_restarts"]
    assert "$ref" not in str(catalog)  # every entry stands alone
    assert all(entry["description"] for entries in catalog.values() for entry in entries)
