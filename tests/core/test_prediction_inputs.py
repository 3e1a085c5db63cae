"""Prediction bodies read against a model's card (core.prediction): JSON rows and records, .npy and Arrow IPC, each
encoded as the worker encoded the training data, and every bad input refused with what the model expects."""

import io
import re

import numpy as np
import orjson
import pyarrow as pa
import pytest

from core.model_card import FeatureColumn, ModelCard, ModelInput, Weights
from core.prediction.answer import answer
from core.prediction.binary import decode_arrow, decode_npy
from core.prediction.errors import PredictionRejected
from core.prediction.rows import decode_json

WEIGHTS = {"final": Weights(sha256="0" * 64, bytes=1, epoch=1)}
CHURN = ModelCard(
    job_id="j",
    model={"name": "mlp"},
    task="binary_classification",
    head="binary",
    n_outputs=1,
    input=ModelInput(kind="features", shape=[5], dtype="float32"),
    features=[
        FeatureColumn(name="tenure", fill=36.0),
        FeatureColumn(name="plan", dtype="category", categories=["basic", "plus", "pro"]),
        FeatureColumn(name="paperless", dtype="boolean"),
    ],
    classes=["no", "yes"],
    outputs={"prediction": "0/1"},
    weights=WEIGHTS,
)
NUMBERS = CHURN.model_copy(
    update={
        "features": [FeatureColumn(name=n) for n in ("a", "b", "c")],
        "input": ModelInput(kind="features", shape=[3], dtype="float32"),
    }
)
DIGITS = CHURN.model_copy(
    update={"features": [], "input": ModelInput(kind="images", shape=[1, 8, 8], dtype="float32"), "head": "classes"}
)
TOKENS = DIGITS.model_copy(update={"input": ModelInput(kind="tokens", shape=[4], dtype="int64", vocab_size=50)})
ROWS = 100


def rows(card: ModelCard, payload: object) -> np.ndarray:
    return decode_json(orjson.dumps(payload), card, max_rows=ROWS)


def refused(card: ModelCard, payload: object) -> str:
    with pytest.raises(PredictionRejected) as caught:
        rows(card, payload)
    return str(caught.value)


def test_feature_rows_and_records_are_encoded_as_at_training() -> None:
    given = [[12, "plus", True], [None, "basic", False], [3.5, "pro", 1]]
    encoded = rows(CHURN, {"inputs": given})
    assert encoded.dtype == np.float32
    assert encoded.tolist() == [[12, 0, 1, 0, 1], [36, 1, 0, 0, 0], [3.5, 0, 0, 1, 1]]  # a missing tenure: its fill
    records = [{"tenure": 12, "plan": "plus", "paperless": True}, {"plan": "basic", "paperless": False}]
    assert rows(CHURN, {"records": records}).tolist() == encoded[:2].tolist()


def test_number_rows_take_the_fast_path_and_keep_float64_rounding() -> None:
    encoded = rows(NUMBERS, {"inputs": [[0.1, 2, 1e30], [-1, 0, 3]]})
    assert encoded.tolist() == np.array([[0.1, 2, 1e30], [-1, 0, 3]], dtype=np.float64).astype(np.float32).tolist()


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (
            {"inputs": [[1, "plus"]]},
            "row 0 has 2 values, not 3: this model takes rows of 3 values in this order: 'tenure', 'plan', 'paperless'",
        ),
        (
            {"inputs": [[1, "gold", True], [2, "silver", False]]},
            "'plan' has categories this model never saw: 'gold', 'silver'; it knows 'basic', 'plus', 'pro'",
        ),
        ({"inputs": [[1, None, True]]}, "row 0 has no value for 'plan'"),
        ({"inputs": [["ten", "plus", True]]}, "row 0 holds \"ten\" for 'tenure', not a number"),
        ({"inputs": [[True, "plus", True]]}, "row 0 holds true for 'tenure', not a number"),
        ({"inputs": [[1, "plus", 2]]}, "row 0 holds 2 for 'paperless', a boolean column"),
        ({"records": [{"tenure": 1, "plan": "pro", "paperless": True, "churn": "no"}]}, "unknown column(s) 'churn'"),
        ({"records": [{"tenure": 1, "plan": "pro"}]}, "record 0 has no value for 'paperless'"),
        ({"records": [[1, "pro", True]]}, "record 0 is not an object"),
        ({"rows": [[1, "pro", True]]}, "the body has 'rows'"),
        ({"inputs": []}, "the request holds no rows"),
        (
            {"inputs": [[1, "pro", True]] * (ROWS + 1)},
            "the request holds 101 rows, more than the 100 this server takes",
        ),
    ],
)
def test_bad_feature_rows_say_what_the_model_expects(payload: object, says: str) -> None:
    assert says in refused(CHURN, payload)


def test_images_come_nested_or_flat_and_must_have_the_input_shape() -> None:
    image = np.arange(64, dtype=np.float64).reshape(1, 8, 8)
    nested = rows(DIGITS, {"inputs": [image.tolist()] * 2})
    assert nested.shape == (2, 1, 8, 8) and nested.dtype == np.float32
    assert np.array_equal(rows(DIGITS, {"inputs": [image.ravel().tolist()] * 2}), nested)
    expects = "this model takes images of shape [1, 8, 8] (nested arrays, or rows of 64 numbers)"
    assert refused(DIGITS, {"inputs": [image[:, :, :7].tolist()]}) == (
        f"'inputs' has shape [1, 1, 8, 7], so each row has shape [1, 8, 7]: {expects}"
    )
    assert refused(DIGITS, {"inputs": [image.tolist(), image.ravel()[:10].tolist()]}).startswith("row 1 has shape [10]")
    bad = image.tolist()
    bad[0][3][3] = "x"
    assert refused(DIGITS, {"inputs": [image.tolist(), bad]}).startswith("row 1 holds a value that is not a number")
    bad[0][3][3] = True
    assert refused(DIGITS, {"inputs": [bad]}).startswith("row 0 holds a value that is not a number")
    bad[0][3][3] = 1e39
    assert refused(DIGITS, {"inputs": [bad]}) == "row 0 holds a number that is not finite in float32 (the model's type)"
    assert refused(DIGITS, {"records": [{"a": 1}]}).startswith("records are for models of table columns")


def test_token_ids_are_integers_in_the_vocabulary() -> None:
    assert rows(TOKENS, {"inputs": [[0, 1, 2, 49]]}).dtype == np.int64
    assert refused(TOKENS, {"inputs": [[0, 1, 2, 50]]}) == (
        "row 0 holds a token id outside the vocabulary: this model takes rows of 4 token ids (integers from 0 to 49)"
    )
    assert refused(TOKENS, {"inputs": [[0, 1, 2.5, 3]]}).startswith("'inputs' holds float64 values, not integers")


def test_a_body_that_is_not_json_is_a_400() -> None:
    with pytest.raises(PredictionRejected) as caught:
        decode_json(b'{"inputs": [[1, 2', CHURN, max_rows=ROWS)
    assert caught.value.status == 400


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def test_npy_arrays_are_read_with_no_pickle_and_their_header_checked_first() -> None:
    images = np.random.default_rng(0).integers(0, 17, (3, 1, 8, 8)).astype(np.float32)
    assert np.array_equal(decode_npy(npy(images), DIGITS, max_rows=ROWS), images)
    assert np.array_equal(decode_npy(npy(images.reshape(3, 64).astype(">f8")), DIGITS, max_rows=ROWS), images)
    fortran = np.asfortranarray(images.reshape(3, 64))
    assert np.array_equal(decode_npy(npy(fortran), DIGITS, max_rows=ROWS), images)
    lying = npy(images).replace(b"(3, 1, 8, 8)", b"(9, 1, 8, 8)")
    with pytest.raises(PredictionRejected, match=re.escape("declares 2,304 bytes of data, the body holds 768")):
        decode_npy(lying, DIGITS, max_rows=ROWS)
    with pytest.raises(PredictionRejected, match="holds object, not numbers"):
        decode_npy(npy(np.array([{"a": 1}], dtype=object)), DIGITS, max_rows=ROWS)
    with pytest.raises(PredictionRejected, match=re.escape("not an .npy array")):
        decode_npy(b"PK\x03\x04 a zip, not an npy", DIGITS, max_rows=ROWS)
    with pytest.raises(PredictionRejected, match="more than the 2 this server takes") as caught:
        decode_npy(npy(images), DIGITS, max_rows=2)
    with pytest.raises(PredictionRejected, match="category columns \\('plan'\\)") as caught:
        decode_npy(npy(np.zeros((2, 3))), CHURN, max_rows=ROWS)
    assert caught.value.status == 415


def arrow(table: pa.Table, compression: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=2)
    return sink.getvalue().to_pybytes()


def test_arrow_streams_name_their_columns_or_hold_one_input_column() -> None:
    table = pa.table(
        {
            "paperless": [True, False, None],
            "plan": pa.array(["plus", "basic", "pro"]).dictionary_encode(),
            "tenure": pa.array([12, None, 3], pa.int32()),
        }
    )
    with pytest.raises(PredictionRejected, match="row 2 has no value for 'paperless'"):
        decode_arrow(arrow(table), CHURN, max_rows=ROWS)
    table = table.set_column(0, "paperless", pa.array([True, False, True]))
    assert decode_arrow(arrow(table), CHURN, max_rows=ROWS).tolist() == [
        [12, 0, 1, 0, 1],
        [36, 1, 0, 0, 0],
        [3, 0, 0, 1, 1],
    ]
    unknown = table.set_column(1, "plan", pa.array(["plus", "gold", "pro"]))
    with pytest.raises(PredictionRejected, match="'plan' has categories this model never saw: 'gold'"):
        decode_arrow(arrow(unknown), CHURN, max_rows=ROWS)
    with pytest.raises(PredictionRejected, match="unknown column\\(s\\) 'churn'"):
        decode_arrow(arrow(table.append_column("churn", pa.array([1, 0, 1]))), CHURN, max_rows=ROWS)
    images = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(images.ravel()), 64)
    decoded = decode_arrow(arrow(pa.table({"input": column})), DIGITS, max_rows=ROWS)
    assert np.array_equal(decoded, images.reshape(5, 1, 8, 8))


def test_arrow_rows_and_compression_are_checked_before_any_batch_is_read() -> None:
    table = pa.table({"a": [1.0] * 5, "b": [2.0] * 5, "c": [3.0] * 5})
    with pytest.raises(PredictionRejected, match="the request holds 5 rows, more than the 4"):
        decode_arrow(arrow(table), NUMBERS, max_rows=4)
    with pytest.raises(PredictionRejected, match="the Arrow stream is compressed"):
        decode_arrow(arrow(table, "zstd"), NUMBERS, max_rows=ROWS)
    with pytest.raises(PredictionRejected, match="not an Arrow IPC stream"):
        decode_arrow(b"\xff\xff\xff\xff\x10\x00\x00\x00garbage!", NUMBERS, max_rows=ROWS)


def test_answers_name_classes_and_keep_values_in_units() -> None:
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)
    binary = orjson.loads(answer(CHURN, {"prediction": np.array([0, 1]), "probabilities": probabilities}))
    # float32 numbers are written in their own shortest form: 0.9, not 0.8999999761581421.
    assert binary == {"predictions": ["no", "yes"], "probabilities": [[0.9, 0.1], [0.2, 0.8]], "classes": ["no", "yes"]}
    labels = CHURN.model_copy(update={"head": "multilabel", "classes": ["a", "b", "c"], "n_outputs": 3})
    multilabel = orjson.loads(answer(labels, {"prediction": np.array([[1, 0, 1], [0, 0, 0]])}))
    assert multilabel["predictions"] == [["a", "c"], []]
    regression = CHURN.model_copy(update={"head": "regression", "classes": []})
    values = orjson.loads(answer(regression, {"prediction": np.array([[1.5], [2.25]], dtype=np.float32)}))
    assert values == {"predictions": [1.5, 2.25], "probabilities": None, "classes": None}
    two = orjson.loads(answer(regression, {"prediction": np.array([[1.5, 2.0]], dtype=np.float32)}))
    assert two["predictions"] == [[1.5, 2.0]]


def test_arrow_columns_left_out_are_filled_or_refused() -> None:
    table = pa.table({"plan": pa.array(["pro", "basic"], pa.large_string()), "paperless": [False, True]})
    assert decode_arrow(arrow(table), CHURN, max_rows=ROWS).tolist() == [[36, 0, 0, 1, 0], [36, 1, 0, 0, 1]]
    with pytest.raises(PredictionRejected, match="the Arrow stream has no column 'plan'"):
        decode_arrow(arrow(table.drop_columns(["plan"])), CHURN, max_rows=ROWS)
    filled = [f.model_copy(update={"fill": 0.0}) if f.name == "plan" else f for f in CHURN.features]
    lenient = CHURN.model_copy(update={"features": filled})
    assert decode_arrow(arrow(table.drop_columns(["plan"])), lenient, max_rows=ROWS).tolist() == [
        [36, 0, 0, 0, 0],
        [36, 0, 0, 0, 1],
    ]
