"""The metric history as an Arrow IPC stream: one record batch per series, the JSON answer's columns, nulls where
JSON has null (non-finite values).

Built with pyarrow alone (no numpy import here: the import rule keeps numpy out of service/); the Series columns are
numpy arrays that pyarrow wraps without a copy, so the values go on the wire bit for bit.
"""

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from core.metrics import Series

ARROW_TYPE = "application/vnd.apache.arrow.stream"
# Steps and epochs are int32 where they are stored (a step is at most INT_MAX), and a name is a dictionary code: 26
# bytes a point instead of 36, which is what a client waits for on a long history.
NAME_TYPE = pa.dictionary(pa.int16(), pa.string())
SCHEMA = pa.schema(
    [
        pa.field("name", NAME_TYPE, nullable=False),
        pa.field("step", pa.int32(), nullable=False),
        pa.field("epoch", pa.int32(), nullable=False),
        pa.field("value", pa.float64(), nullable=True),
        pa.field("time", pa.float64(), nullable=False),
    ]
)
NULL_VALUE = pa.scalar(None, pa.float64())


def _finite_or_null(values: pa.Array) -> pa.Array:
    """The values with every NaN and infinity made null (as JSON carries them); untouched when all are finite."""
    finite = pc.is_finite(values)
    if pc.all(finite).as_py() is not False:
        return values
    return pc.if_else(finite, values, NULL_VALUE)


def _batch(series: Series, index: int, names: pa.Array) -> pa.RecordBatch:
    """One series as a record batch; its `name` column points at entry `index` of the shared dictionary."""
    n = len(series)
    codes = pa.repeat(pa.scalar(index, pa.int16()), n) if n else pa.array([], pa.int16())
    columns = [
        pa.DictionaryArray.from_arrays(codes, names),
        pa.array(series.step, pa.int64()).cast(pa.int32()),  # a checked cast: it raises rather than wrap
        pa.array(series.epoch, pa.int64()).cast(pa.int32()),
        _finite_or_null(pa.array(series.value, pa.float64())),
        pa.array(series.time, pa.float64()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def history_arrow(history: Mapping[str, Series], *, job_id: str, status: str) -> bytes:
    """The Arrow IPC stream: schema (with `job_id` and `status` as metadata), then a batch per series in order."""
    schema = SCHEMA.with_metadata({"job_id": job_id, "status": status})
    names = pa.array(list(history), pa.string())
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for index, series in enumerate(history.values()):
            writer.write_batch(_batch(series, index, names))
    body: bytes = sink.getvalue().to_pybytes()
    return body
