"""A JSON prediction request, `{"inputs": [[...], ...]}` or `{"records": [{...}, ...]}`, as the model's input array.

Plain numeric rows take a fast path: numpy reads the nested lists at once. Anything else (a category, a boolean, a
missing value, a wrong type) goes column by column, so a refusal names the row and the column.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from core.model_card import FeatureColumn, ModelCard
from core.prediction.columns import numbers, one_hot, unknown_categories
from core.prediction.errors import PredictionRejected
from core.prediction.tensors import Array, as_input, check_rows, expects, quoted

NUMBER_TYPES = frozenset({int, float})
BOOLEAN_TYPES = frozenset({bool, int, float})
USAGE = 'send {"inputs": [[...], ...]} (rows in feature order, or images as nested arrays) or {"records": [{...}]}'


def decode_json(body: bytes, card: ModelCard, *, max_rows: int) -> Array:
    """The model's input array from a JSON request body; PredictionRejected saying what the model expects."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PredictionRejected(f"the request body is not valid JSON: {exc}", status=400) from exc
    if type(payload) is not dict or len(payload) != 1 or next(iter(payload)) not in ("inputs", "records"):
        keys = quoted(list(payload)) if type(payload) is dict else "no object"
        raise PredictionRejected(f"the body has {keys}: {USAGE}; {expects(card)}")
    ((key, rows),) = payload.items()
    if type(rows) is not list:
        raise PredictionRejected(f"'{key}' must be an array of rows: {USAGE}", loc=("body", key))
    check_rows(len(rows), max_rows=max_rows, card=card)
    if key == "records":
        return encode_records(card, rows)
    # Only a JSON true or false turns into a bool: without either in the body, no per-value type check is needed.
    return encode_inputs(card, rows, booleans_possible=b"true" in body or b"false" in body)


def encode_inputs(card: ModelCard, rows: list[Any], *, booleans_possible: bool) -> Array:
    """Rows of raw values (feature order, or nested arrays of the input's shape) as the model's input."""
    if card.input.kind == "features" and any(f.dtype != "number" for f in card.features):
        return _feature_rows(card, rows)
    try:
        raw = np.asarray(rows)
    except ValueError:
        raw = None  # rows of different shapes: found below
    if raw is not None and raw.dtype.kind in "iuf" and not (booleans_possible and _holds_bool(rows)):
        return as_input(card, raw, what="'inputs'")
    if card.input.kind == "features" and card.features:
        return _feature_rows(card, rows)  # column by column: a missing value may have a fill
    raise _bad_tensor_row(card, rows)


def _holds_bool(value: Any) -> bool:
    if type(value) is list:
        return any(_holds_bool(item) for item in value)
    return type(value) is bool


def _bad_tensor_row(card: ModelCard, rows: list[Any]) -> PredictionRejected:
    """The refusal naming the first row that is not an array of numbers of the input's shape."""
    for index, row in enumerate(rows):
        try:
            array = np.asarray(row)
        except ValueError:
            return PredictionRejected(f"row {index} is not a regular array: {expects(card)}", loc=("body", "inputs"))
        if array.dtype.kind not in "iuf" or _holds_bool(row):
            return PredictionRejected(f"row {index} holds a value that is not a number: {expects(card)}")
        if list(array.shape) not in (card.input.shape, [int(np.prod(card.input.shape))]):
            return PredictionRejected(f"row {index} has shape {list(array.shape)}: {expects(card)}")
    return PredictionRejected(f"the rows are not arrays of one shape: {expects(card)}")


def _feature_rows(card: ModelCard, rows: list[Any]) -> Array:
    width = len(card.features)
    for index, row in enumerate(rows):
        if type(row) is not list or len(row) != width:
            got = f"{len(row)} values" if type(row) is list else "no array"
            raise PredictionRejected(f"row {index} has {got}, not {width}: {expects(card)}", loc=("body", "inputs"))
    return encode_columns(card, list(zip(*rows, strict=True)), noun="row")


def encode_records(card: ModelCard, records: list[Any]) -> Array:
    """Records keyed by column name as the model's input; unknown columns refused, missing ones filled or refused."""
    if card.input.kind != "features" or not card.features:
        raise PredictionRejected(f"records are for models of table columns: {expects(card)}")
    for index, record in enumerate(records):
        if type(record) is not dict:
            raise PredictionRejected(f"record {index} is not an object: {expects(card)}", loc=("body", "records"))
    unknown = set().union(*records) - {f.name for f in card.features}
    if unknown:
        raise PredictionRejected(f"unknown column(s) {quoted(sorted(unknown))}: {expects(card)}")
    return encode_columns(card, [[r.get(f.name) for r in records] for f in card.features], noun="record")


def encode_columns(card: ModelCard, columns: Sequence[Sequence[Any]], *, noun: str) -> Array:
    """Raw column values (JSON's: numbers, booleans, strings, null) encoded and joined as the model's input."""
    parts = [_column(card, feature, values, noun) for feature, values in zip(card.features, columns, strict=True)]
    return as_input(card, np.concatenate(parts, axis=1), what=f"the {noun}s")


def _column(card: ModelCard, feature: FeatureColumn, values: Sequence[Any], noun: str) -> Array:
    if feature.dtype == "category":
        return _categories(card, feature, values, noun)
    allowed = BOOLEAN_TYPES if feature.dtype == "boolean" else NUMBER_TYPES
    kinds = set(map(type, values))
    if not kinds <= allowed | {type(None)}:
        row, value = next((i, v) for i, v in enumerate(values) if v is not None and type(v) not in allowed)
        wanted = "true or false" if feature.dtype == "boolean" else "a number"
        raise PredictionRejected(
            f"{noun} {row} holds {orjson.dumps(value).decode()[:50]} for '{feature.name}', not {wanted}: "
            f"{expects(card)}"
        )
    if type(None) not in kinds:
        return numbers(card, feature, np.array(values, dtype=np.float64), None, noun)
    missing = np.array([v is None for v in values])
    filled = np.array([0.0 if v is None else v for v in values], dtype=np.float64)
    return numbers(card, feature, filled, missing, noun)


def _categories(card: ModelCard, feature: FeatureColumn, values: Sequence[Any], noun: str) -> Array:
    lookup = {name: code for code, name in enumerate(feature.categories or [])}
    # A number given for a category whose names are numbers ("3") is read as its name.
    names = [v if type(v) is str or v is None else orjson.dumps(v).decode() for v in values]
    codes = [-1 if v is None else lookup.get(v, -2) for v in names]
    unknown = [name for name, code in zip(names, codes, strict=True) if code == -2 and name is not None]
    if unknown:
        raise unknown_categories(card, feature, unknown)
    return one_hot(card, feature, np.array(codes, dtype=np.int64), noun)
