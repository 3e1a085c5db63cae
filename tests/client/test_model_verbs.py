"""The client's model helpers that need no server: --set patches, CSV cells, the predictions CSV."""

import io

import pytest

from cli.model_commands import _cell, _write_predictions
from client import set_patch


def test_set_patch_nests_dotted_paths_and_reads_json_values() -> None:
    patch = set_patch(["optimizer.lr=0.01", "model.hidden=[64, 32]", "early_stopping=null", "name=my run", "seed=3"])
    assert patch == {
        "optimizer": {"lr": 0.01},
        "model": {"hidden": [64, 32]},
        "early_stopping": None,
        "name": "my run",
        "seed": 3,
    }


def test_set_patch_merges_two_fields_of_one_component() -> None:
    assert set_patch(["optimizer.lr=0.1", "optimizer.momentum=0.9"]) == {"optimizer": {"lr": 0.1, "momentum": 0.9}}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("optimizer.lr", "is not path=value"),
        ("=3", "is not path=value"),
    ],
)
def test_set_patch_refuses_what_is_not_an_assignment(assignment: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        set_patch([assignment])


def test_set_patch_refuses_setting_inside_a_value() -> None:
    with pytest.raises(ValueError, match="sets inside 'optimizer'"):
        set_patch(["optimizer=3", "optimizer.lr=0.1"])


@pytest.mark.parametrize(
    ("text", "value"), [("", None), ("1.5", 1.5), ("-2", -2.0), ("TRUE", True), ("false", False), ("red", "red")]
)
def test_a_csv_cell_becomes_the_json_value_a_record_takes(text: str, value: object) -> None:
    assert _cell(text) == value


def test_classifier_predictions_csv_names_the_class_and_each_probability() -> None:
    answer = {"predictions": ["cat", "dog"], "probabilities": [[0.75, 0.25], [0.125, 0.875]], "classes": ["cat", "dog"]}
    target = io.StringIO()
    _write_predictions(answer, target)
    assert target.getvalue().splitlines() == [
        "row,prediction,p_cat,p_dog",
        "0,cat,0.75,0.25",
        "1,dog,0.125,0.875",
    ]


def test_multilabel_predictions_join_their_labels() -> None:
    answer = {
        "predictions": [["a", "c"], []],
        "probabilities": [[0.9, 0.1, 0.8], [0.1, 0.2, 0.3]],
        "classes": list("abc"),
    }
    target = io.StringIO()
    _write_predictions(answer, target)
    assert target.getvalue().splitlines()[:3] == ["row,prediction,p_a,p_b,p_c", "0,a;c,0.9,0.1,0.8", "1,,0.1,0.2,0.3"]


def test_vector_predictions_spread_over_columns() -> None:
    target = io.StringIO()
    _write_predictions({"predictions": [[1.0, 2.0], [3.0, 4.0]]}, target)
    assert target.getvalue().splitlines() == ["row,prediction_0,prediction_1", "0,1.0,2.0", "1,3.0,4.0"]


def test_regression_predictions_are_one_column() -> None:
    target = io.StringIO()
    _write_predictions({"predictions": [21.5, -3.0]}, target)
    assert target.getvalue().splitlines() == ["row,prediction", "0,21.5", "1,-3.0"]
