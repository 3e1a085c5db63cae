"""Spec files (YAML and JSON) and the examples a newcomer tries first."""

from pathlib import Path

import pytest

from client import SpecFileError, load_spec
from core.admission import check_spec
from core.settings import Settings
from core.spec import JobSpec

# The job specs among the examples (sweep-*.yaml are sweep requests, tested in tests/core/sweeps/test_space.py).
EXAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "examples").iterdir()
    if p.suffix in (".yaml", ".json") and not p.name.startswith("sweep-")
)


def test_yaml_and_json_give_the_same_spec(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("dataset: digits\nmodel: {name: mlp, hidden: [64]}\nbatch_size: null\n")
    (tmp_path / "a.json").write_text(
        '{"dataset": "digits", "model": {"name": "mlp", "hidden": [64]}, "batch_size": null}'
    )
    expected = {"dataset": "digits", "model": {"name": "mlp", "hidden": [64]}, "batch_size": None}
    assert load_spec(tmp_path / "a.yaml") == load_spec(tmp_path / "a.json") == expected


def test_yaml_numbers_in_exponent_form_are_numbers_as_in_json(tmp_path: Path) -> None:
    text = "optimizer: {name: adam, lr: 1e-3, eps: 1.0E-8, weight_decay: 5e-4}\nepochs: 3\nname: 1e3x\nseed: '7'\n"
    (tmp_path / "a.yaml").write_text(text)
    spec = load_spec(tmp_path / "a.yaml")
    assert spec == {
        "optimizer": {"name": "adam", "lr": 0.001, "eps": 1e-8, "weight_decay": 0.0005},
        "epochs": 3,
        "name": "1e3x",
        "seed": "7",  # quoted: text, which the strict spec refuses, as in JSON
    }


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("spec.txt", "x: 1", r"spec.txt: a spec file ends in \.yaml, \.yml, \.json"),
        ("missing.yaml", None, "cannot read .*missing.yaml: No such file or directory"),
        ("bad.yaml", "dataset: [unclosed", "bad.yaml does not parse"),
        ("bad.json", "{'single': 1}", "bad.json does not parse"),
        ("list.yaml", "- digits\n- mlp\n", "list.yaml: a spec is a mapping .* not list"),
    ],
)
def test_a_bad_spec_file_says_what_is_wrong(tmp_path: Path, name: str, text: str | None, message: str) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(SpecFileError, match=message):
        load_spec(tmp_path / name)


def test_there_are_examples_for_each_first_task() -> None:
    assert [path.name for path in EXAMPLES] == [
        "cifar-cnn.json",
        "digits-adam.yaml",
        "digits-images.yaml",
        "digits-sgd.yaml",
        "focal-imbalanced.yaml",
        "thermometer-csv.yaml",
        "thermometer.yaml",
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_a_spec_the_api_accepts(path: Path) -> None:
    spec = JobSpec.model_validate(load_spec(path))
    if spec.dataset.name == "upload":  # checked against its uploaded file: tests/e2e/test_datasets.py trains it
        return
    check_spec(spec, Settings())  # raises SpecRejected with the reason when the parts do not fit or exceed a limit


def test_sgd_and_adam_examples_differ_only_in_the_optimizer() -> None:
    adam, sgd = (load_spec(path) for path in EXAMPLES if path.name in ("digits-adam.yaml", "digits-sgd.yaml"))
    rest = ("name", "optimizer")
    assert {k: v for k, v in sgd.items() if k not in rest} == {k: v for k, v in adam.items() if k not in rest}
    assert (sgd["optimizer"], adam["optimizer"]) == ({"name": "sgd", "lr": 0.01}, {"name": "adam", "lr": 0.01})
