"""A job's history from the server's Arrow IPC stream into a wide DataFrame (pandas or polars) without Python rows.

pyarrow, pandas and polars are each imported only here, and only when asked for: the client itself needs httpx alone.
"""

import importlib
from typing import Any, Literal

ARROW_TYPE = "application/vnd.apache.arrow.stream"
FrameKind = Literal["pandas", "polars"]


def have_pyarrow() -> bool:
    """Whether pyarrow can be imported (else frames are built from the JSON answer)."""
    try:
        importlib.import_module("pyarrow")
    except ImportError:
        return False
    return True


def _library(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"this frame needs {name}: pip install {name}") from exc


def read_stream(body: bytes) -> dict[str, Any]:
    """Each series of the stream, in the server's order, as a pyarrow RecordBatch (name, step, epoch, value, time)."""
    reader = _library("pyarrow.ipc").open_stream(body)
    series: dict[str, Any] = {}
    for batch in reader:
        names = batch.column(0)  # dictionary-encoded: every batch shares one dictionary of all the names
        if not series:
            series = dict.fromkeys(names.dictionary.to_pylist())
        if len(batch):
            series[names.dictionary[names.indices[0].as_py()].as_py()] = batch
    return series


def wide_arrow(series: dict[str, Any], names: list[str] | None) -> Any:
    """The series as one wide table: `step, epoch, time, <metric>...`, a row per step, null where a metric has none.

    As client.table.wide_table does: `epoch` is the first metric's (in column order) at that step, `time` the earliest.
    """
    pa, pc = _library("pyarrow"), _library("pyarrow.compute")
    order = [name for name in (list(series) if names is None else names) if name in series]
    parts = [series[name] for name in order if series[name] is not None]
    if len(parts) == len(order) == 1:  # one series: its own columns, no join
        columns = [parts[0].column(c) for c in ("step", "epoch", "time", "value")]
        return _wide_ints(pa.table(columns, names=["step", "epoch", "time", *order]))
    steps = pc.unique(pa.chunked_array([p.column("step") for p in parts], pa.int32())).sort()
    epoch, time = pa.nulls(len(steps), pa.int32()), pa.nulls(len(steps), pa.float64())
    columns = []
    for name in order:
        part = series[name]
        if part is None:
            columns.append(pa.nulls(len(steps), pa.float64()))
            continue
        at = pc.index_in(steps, value_set=part.column("step"))
        columns.append(part.column("value").take(at))
        epoch = pc.coalesce(epoch, part.column("epoch").take(at))
        time = pc.min_element_wise(time, part.column("time").take(at), skip_nulls=True)
    return _wide_ints(pa.table([steps, epoch, time, *columns], names=["step", "epoch", "time", *order]))


def _wide_ints(table: Any) -> Any:
    """Step and epoch as int64, as the JSON answer's frame has them (the wire carries int32)."""
    pa = _library("pyarrow")
    for at, name in enumerate(("step", "epoch")):
        table = table.set_column(at, name, table.column(name).cast(pa.int64()))
    return table


def frame_of(table: Any, *, kind: FrameKind) -> Any:
    """The wide table as a pandas DataFrame indexed by step, or a polars DataFrame with `step` as its first column."""
    if kind == "polars":
        return _library("polars").from_arrow(table)
    _library("pandas")
    return table.to_pandas().set_index("step")
