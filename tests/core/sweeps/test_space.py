"""A sweep's bad input is refused before anything is stored, each problem naming its key; good sweeps pass."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from client.specs import load_spec
from core.errors import SpecRejected
from core.settings import Settings
from core.sweeps.checks import check_sweep, trial_spec
from core.sweeps.space import SweepSpec, corners

BASE: dict[str, Any] = {"dataset": "digits", "model": "mlp", "loss": "cross_entropy", "optimizer": "sgd", "epochs": 3}
LR = {"type": "log_uniform", "low": 1e-3, "high": 0.5}


def sweep(**over: Any) -> SweepSpec:
    body: dict[str, Any] = {
        "base": BASE,
        "space": {"optimizer.lr": LR},
        "objective": {"metric": "val_accuracy", "mode": "max"},
    }
    return SweepSpec.model_validate(body | over)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, download_datasets=False)


def refusal(s: SweepSpec, settings: Settings) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(SpecRejected) as caught:
        check_sweep(s, settings)
    return [(p.loc, p.msg) for p in caught.value.problems]


def test_a_good_sweep_passes_and_its_trials_get_the_values(settings: Settings) -> None:
    s = sweep(
        space={
            "optimizer.lr": LR,
            "optimizer.momentum": {"type": "uniform", "low": 0, "high": 0.9},
            "model.hidden": {"type": "choice", "values": [[16], [64, 32]]},
        }
    )
    check_sweep(s, settings)
    spec = trial_spec(s, {"optimizer.lr": 0.01, "optimizer.momentum": 0.5, "model.hidden": [64, 32]})
    dumped = spec.model_dump(mode="json")
    assert dumped["optimizer"]["lr"] == 0.01 and dumped["optimizer"]["momentum"] == 0.5
    assert dumped["model"]["hidden"] == [64, 32] and dumped["epochs"] == 3


def test_corners_are_both_ends_and_every_choice() -> None:
    s = sweep(space={"optimizer.lr": LR, "batch_size": {"type": "choice", "values": [16, 32, 64]}})
    assert corners(s.space) == [
        {"optimizer.lr": 1e-3, "batch_size": 16},
        {"optimizer.lr": 0.5, "batch_size": 64},
        {"optimizer.lr": 1e-3, "batch_size": 32},
    ]


def test_a_path_not_in_the_spec_is_named(settings: Settings) -> None:
    s = sweep(space={"optimizer.lr": LR, "optimizer.colour": {"type": "choice", "values": [1, 2]}})
    assert refusal(s, settings) == [(("space", "optimizer.colour"), "'optimizer.colour' is not a path in the job spec")]


def test_a_corner_that_makes_the_spec_invalid_is_named(settings: Settings) -> None:
    s = sweep(space={"optimizer.lr": LR, "optimizer.momentum": {"type": "uniform", "low": 0, "high": 5}})
    [(loc, msg)] = refusal(s, settings)
    assert loc == ("space", "optimizer.momentum")
    assert "optimizer.momentum=5.0" in msg and "the job spec is invalid at optimizer" in msg


def test_a_corner_that_does_not_fit_is_refused(settings: Settings) -> None:
    s = sweep(space={"optimizer.lr": LR, "loss": {"type": "choice", "values": ["cross_entropy", "bce"]}})
    [(loc, msg)] = refusal(s, settings)
    assert loc[0] == "space" and "loss 'bce' needs two classes" in msg


def test_an_objective_the_job_does_not_record_is_named(settings: Settings) -> None:
    [(loc, msg)] = refusal(sweep(objective={"metric": "val_r2", "mode": "max"}), settings)
    assert loc == ("objective", "metric")
    assert msg.startswith("the base job does not record 'val_r2'; it records train_loss, train_accuracy")


def test_grid_takes_choices_only(settings: Settings) -> None:
    assert refusal(sweep(sampler="grid"), settings) == [
        (("space", "optimizer.lr"), "the grid sampler takes choices only; 'optimizer.lr' is a range")
    ]


def test_cmaes_needs_a_numeric_range(settings: Settings) -> None:
    choices = {"optimizer.name": {"type": "choice", "values": ["sgd", "adam"]}}
    assert refusal(sweep(sampler="cmaes", space=choices), settings) == [
        (("sampler",), "the cmaes sampler adapts numeric ranges and this space has none: give a key a range, or use "
         "tpe or grid")
    ]  # fmt: skip
    check_sweep(sweep(sampler="cmaes", space=choices | {"optimizer.lr": LR}), settings)


def test_a_space_of_a_single_point_is_refused(settings: Settings) -> None:
    s = sweep(
        space={
            "optimizer.lr": {"type": "uniform", "low": 0.1, "high": 0.1},
            "batch_size": {"type": "choice", "values": [32]},
            "epochs": {"type": "const", "value": 2},
        }
    )
    [(loc, msg)] = refusal(s, settings)
    assert loc == ("space",) and msg.startswith("the space holds a single point")


@pytest.mark.parametrize(
    ("param", "where", "words"),
    [
        ({"type": "log_uniform", "low": 0, "high": 1}, ("space", "x", "log_uniform", "low"), "greater than 0"),
        ({"type": "log_uniform", "low": -1, "high": 1}, ("space", "x", "log_uniform", "low"), "greater than 0"),
        ({"type": "uniform", "low": 2, "high": 1}, ("space", "x", "uniform"), "low (2.0) is above high (1.0)"),
        ({"type": "int", "low": 0, "high": 8, "log": True}, ("space", "x", "int"), "low of at least 1"),
        ({"type": "choice", "values": []}, ("space", "x", "choice", "values"), "at least 1 item"),
    ],
)
def test_bad_ranges_are_refused_naming_the_key(param: dict[str, Any], where: tuple[str, ...], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        sweep(space={"x": param})
    [error] = caught.value.errors()
    assert error["loc"] == where and words in error["msg"]


@pytest.mark.parametrize(
    ("key", "value"), [("max_trials", 0), ("max_trials", 1001), ("max_concurrent", 0), ("max_concurrent", 65)]
)
def test_budgets_out_of_bounds_are_refused(key: str, value: int) -> None:
    with pytest.raises(ValidationError) as caught:
        sweep(**{key: value})
    assert caught.value.errors()[0]["loc"] == (key,)


def test_a_base_that_cannot_train_is_refused_under_base(settings: Settings) -> None:
    s = sweep(base=BASE | {"loss": "bce"})
    [(loc, msg)] = refusal(s, settings)
    assert loc == ("base", "loss") and "loss 'bce' needs two classes" in msg


def test_the_example_sweep_is_admitted(settings: Settings) -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "sweep-digits-optimizers.yaml"
    check_sweep(SweepSpec.model_validate(load_spec(example)), settings)
