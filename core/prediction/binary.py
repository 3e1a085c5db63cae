"""Binary prediction bodies: an .npy array, or an Arrow IPC stream (one column per feature, or one `input` column of
fixed-size lists), as the model's input array. Every size is checked against the body before memory is taken."""

import io
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.model_card import ONNX_INPUT, FeatureColumn, ModelCard
from core.prediction.arrow_peek import MalformedHeader, batch_headers
from core.prediction.columns import numbers, one_hot, unknown_categories
from core.prediction.errors import PredictionRejected
from core.prediction.tensors import Array, as_input, check_rows, expects, quoted

NPY_VERSIONS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _categories_refused(card: ModelCard, body: str) -> PredictionRejected:
    named = quoted([f.name for f in card.features if f.dtype == "category"])
    return PredictionRejected(
        f"this model has category columns ({named}): an {body} holds numbers only, so send JSON, or an Arrow "
        f"stream with those columns as strings; {expects(card)}",
        status=415,
    )


def decode_npy(body: bytes, card: ModelCard, *, max_rows: int) -> Array:
    """The model's input from an .npy array ([N, *shape] or [N, flat]; read with no pickle, its header checked
    against the body's length before the data is touched)."""
    if any(f.dtype == "category" for f in card.features):
        raise _categories_refused(card, ".npy array")
    stream = io.BytesIO(body)
    try:
        version = np.lib.format.read_magic(stream)
        shape, fortran_order, dtype = NPY_VERSIONS[version](stream)
    except (ValueError, KeyError, EOFError) as exc:
        raise PredictionRejected(f"the body is not an .npy array of version 1.0 or 2.0 (np.save's): {exc}") from exc
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "iuf":
        raise PredictionRejected(f"the .npy array holds {dtype}, not numbers: {expects(card)}")
    if len(shape) < 1:
        raise PredictionRejected(f"the .npy array is a scalar, not rows: {expects(card)}")
    check_rows(shape[0], max_rows=max_rows, card=card)
    count, offset = math.prod(shape), stream.tell()
    if count * dtype.itemsize != len(body) - offset:
        raise PredictionRejected(
            f"the .npy header declares {count * dtype.itemsize:,} bytes of data, the body holds {len(body) - offset:,}"
        )
    raw = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
    raw = raw.reshape(shape, order="F" if fortran_order else "C")
    return as_input(card, raw, what="the .npy array")


def _read_stream(body: bytes, max_rows: int, card: ModelCard) -> pa.Table:
    buffer = pa.py_buffer(body)
    try:
        headers = batch_headers(buffer)
    except (MalformedHeader, pa.ArrowException, OSError) as exc:
        raise PredictionRejected(f"the body is not an Arrow IPC stream: {exc}") from exc
    if any(h.compressed for h in headers):
        raise PredictionRejected("the Arrow stream is compressed (LZ4 or ZSTD buffers): send it uncompressed")
    check_rows(sum(h.rows for h in headers if not h.dictionary), max_rows=max_rows, card=card)
    try:
        table = pa.ipc.open_stream(buffer).read_all()
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise PredictionRejected(f"the body is not a valid Arrow IPC stream: {exc}") from exc
    return table


def decode_arrow(body: bytes, card: ModelCard, *, max_rows: int) -> Array:
    """The model's input from an Arrow IPC stream: one column per feature (by name, any order), or a single column
    named `input` of (nested) fixed-size lists holding each row's values flattened."""
    table = _read_stream(body, max_rows, card)
    feature_names = {f.name for f in card.features}
    if table.column_names == [ONNX_INPUT] and ONNX_INPUT not in feature_names:
        if any(f.dtype == "category" for f in card.features):
            raise _categories_refused(card, "'input' column")
        return as_input(card, _tensor_column(table.column(0), card), what="the 'input' column")
    if card.input.kind != "features" or not card.features:
        raise PredictionRejected(f"the Arrow stream must have one column, named '{ONNX_INPUT}': {expects(card)}")
    names = table.column_names
    unknown = sorted(set(names) - feature_names)
    if unknown or len(set(names)) != len(names):
        what = f"unknown column(s) {quoted(unknown)}" if unknown else "a column named twice"
        raise PredictionRejected(f"the Arrow stream has {what}: {expects(card)}")
    parts = [_feature_column(table, feature, card) for feature in card.features]
    return as_input(card, np.concatenate(parts, axis=1), what="the Arrow stream")


def _tensor_column(column: pa.ChunkedArray, card: ModelCard) -> Array:
    array: pa.Array = column.combine_chunks()
    while pa.types.is_fixed_size_list(array.type):
        if array.null_count:
            raise PredictionRejected(f"the '{ONNX_INPUT}' column has null rows: {expects(card)}")
        array = array.flatten()
    if not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)) or array.null_count:
        raise PredictionRejected(
            f"the '{ONNX_INPUT}' column must hold fixed-size lists of numbers with no nulls, not {column.type}: "
            f"{expects(card)}"
        )
    values: Array = array.to_numpy(zero_copy_only=False)
    return values.reshape(len(column), -1)


def _feature_column(table: pa.Table, feature: FeatureColumn, card: ModelCard) -> Array:
    rows = table.num_rows
    if feature.name not in table.column_names:
        if feature.fill is None:
            raise PredictionRejected(f"the Arrow stream has no column '{feature.name}': {expects(card)}")
        column: pa.Array = pa.nulls(rows)
    else:
        column = table.column(feature.name).combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if feature.dtype == "category":
        return _category_column(column, feature, card)
    missing = column.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_null(column.type):
        values = np.zeros(rows)
    elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_boolean(column.type):
        values = column.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
    else:
        raise PredictionRejected(f"column '{feature.name}' holds {column.type}, not numbers: {expects(card)}")
    return numbers(card, feature, values, missing, "row")


def _category_column(column: pa.Array, feature: FeatureColumn, card: ModelCard) -> Array:
    if pa.types.is_null(column.type):  # a column left out: every value missing
        return one_hot(card, feature, np.full(len(column), -1, dtype=np.int64), "row")
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise PredictionRejected(f"column '{feature.name}' holds {column.type}, not category names (strings)")
    column = column.cast(pa.string())
    codes = pc.index_in(column, value_set=pa.array(feature.categories or [], pa.string()))
    unknown = pc.and_(codes.is_null(), column.is_valid())
    if pc.any(unknown).as_py():
        raise unknown_categories(card, feature, pc.filter(column, unknown).to_pylist()[:100])
    return one_hot(card, feature, codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64), "row")
