"""Tables (CSV, TSV, Parquet) read with pyarrow into typed numpy columns: numbers, booleans, categories."""

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.datasets.errors import DatasetRejected
from core.datasets.schema import MAX_CATEGORIES, MAX_CLASS_VALUES, PREVIEW_ROWS, Column

HEADER_BYTES = 1 << 20  # the header row must fit in this
Arrays = dict[str, np.ndarray]


def _opener(path: Path) -> Any:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return (lambda: gzip.open(path, "rb")) if gzipped else (lambda: path.open("rb"))


def _header(path: Path, filename: str) -> tuple[str, str]:
    """The header line and the delimiter it uses (tab, comma or semicolon, whichever splits it most)."""
    try:
        with _opener(path)() as raw:
            head = raw.read(HEADER_BYTES)
    except (OSError, EOFError) as exc:
        raise DatasetRejected(f"{filename}: the gzip stream is damaged ({exc})") from exc
    try:
        line = head.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise DatasetRejected(f"{filename}: row 1 (the header) is not UTF-8") from exc
    if not line.strip():
        raise DatasetRejected(f"{filename}: the file is empty (a CSV needs a header row and data rows)")
    if b"\n" not in head and len(head) == HEADER_BYTES:
        raise DatasetRejected(f"{filename}: row 1 (the header) is longer than {HEADER_BYTES:,} bytes")
    delimiter = max("\t,;", key=line.count)
    return line, delimiter


def _find_bad_row(path: Path, filename: str, delimiter: str, width: int) -> DatasetRejected:
    """Scan the rows to name the first one that is not UTF-8 or has the wrong number of fields."""
    try:
        with _opener(path)() as raw:
            for number, line in enumerate(raw, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return DatasetRejected(f"{filename}: row {number} is not UTF-8")
    except (OSError, EOFError) as exc:
        return DatasetRejected(f"{filename}: the gzip stream is damaged ({exc})")
    with _opener(path)() as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), delimiter=delimiter)
        try:
            for row in reader:
                if row and len(row) != width:
                    return DatasetRejected(
                        f"{filename}: row {reader.line_num} has {len(row)} fields, the header has {width}"
                    )
        except csv.Error as exc:
            return DatasetRejected(f"{filename}: row {reader.line_num}: {exc}")
    return DatasetRejected(f"{filename}: the file cannot be read as a table")


def read_csv(path: Path, filename: str, *, max_columns: int) -> pa.Table:
    """A CSV or TSV (optionally gzipped) with a header row, as a pyarrow table; ragged rows and non-UTF-8 refused."""
    line, delimiter = _header(path, filename)
    names = next(csv.reader([line], delimiter=delimiter))
    if len(names) > max_columns:
        raise DatasetRejected(f"{filename}: {len(names):,} columns, above this server's limit of {max_columns:,}")
    if len(set(names)) != len(names) or any(not n.strip() for n in names):
        raise DatasetRejected(f"{filename}: the header row has an empty or repeated column name")
    parse = pacsv.ParseOptions(delimiter=delimiter)
    try:
        with _opener(path)() as raw:
            table = pacsv.read_csv(raw, parse_options=parse)
    except (pa.ArrowException, OSError, EOFError) as exc:  # a parse error, or a truncated gzip stream
        raise _find_bad_row(path, filename, delimiter, len(names)) from exc
    if any(pa.types.is_binary(field.type) for field in table.schema):
        raise _find_bad_row(path, filename, delimiter, len(names))
    return table


def read_parquet(path: Path, filename: str, *, max_columns: int) -> pa.Table:
    """A Parquet file as a pyarrow table; its column count is checked from the footer before any data is read."""
    try:
        meta = pq.read_metadata(path)
        if meta.num_columns > max_columns:
            raise DatasetRejected(
                f"{filename}: {meta.num_columns:,} columns, above this server's limit of {max_columns:,}"
            )
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetRejected(f"{filename}: not a readable Parquet file ({exc})") from exc


def numeric_column(name: str, values: np.ndarray, nulls: int) -> Column:
    """A number column's schema: whether its values are few integers (a possible class target) or counts."""
    finite = values[~np.isnan(values)]
    integral = bool(len(finite)) and bool(np.all(finite == np.round(finite)))
    distinct = np.unique(finite) if integral else finite[:0]  # sorting is the cost: only integers can be classes
    few = integral and len(distinct) <= MAX_CLASS_VALUES
    return Column(
        name=name,
        dtype="number",
        nulls=nulls,
        class_values=[float(v) for v in distinct] if few else None,
        nonnegative_integers=integral and bool(np.all(finite >= 0)),
    )


def _column(name: str, data: pa.ChunkedArray) -> tuple[Column, np.ndarray | None]:
    """The column's schema and its canonical array (float64 with NaN, or int32 codes with -1); None when unusable."""
    nulls = data.null_count
    kind = data.type
    if pa.types.is_boolean(kind):
        values = pc.cast(data, pa.float64()).to_numpy(zero_copy_only=False)
        return Column(name=name, dtype="boolean", nulls=nulls, categories=["false", "true"]), values
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = pc.cast(data, pa.float64()).to_numpy(zero_copy_only=False)
        if not np.all(np.isfinite(values[~np.isnan(values)])):
            values = np.where(np.isfinite(values), values, np.nan)
        return numeric_column(name, values, int(np.isnan(values).sum())), values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        text = pc.cast(data, pa.string()) if pa.types.is_dictionary(kind) else data
        distinct = pc.unique(text).drop_null()
        if len(distinct) > MAX_CATEGORIES:
            return Column(name=name, dtype="text", nulls=nulls, role="unusable"), None
        categories = sorted(distinct.to_pylist())
        codes = pc.index_in(text, value_set=pa.array(categories, pa.string()))
        return Column(name=name, dtype="category", nulls=nulls, categories=categories), pc.fill_null(
            codes, -1
        ).to_numpy(zero_copy_only=False).astype(np.int32)
    return Column(name=name, dtype="text", nulls=nulls, role="unusable"), None


def describe_table(
    table: pa.Table, filename: str, *, max_rows: int
) -> tuple[list[Column], Arrays, list[dict[str, Any]]]:
    """Each column's schema, the canonical arrays (col_0, col_1, ...) and a preview of the first rows."""
    if table.num_rows == 0:
        raise DatasetRejected(f"{filename}: the table has a header but no data rows")
    if table.num_rows > max_rows:
        raise DatasetRejected(f"{filename}: {table.num_rows:,} rows, above this server's limit of {max_rows:,}")
    columns, arrays = [], {}
    for index, name in enumerate(table.column_names):
        column, values = _column(name, table.column(index))
        columns.append(column)
        if values is not None:
            arrays[f"col_{index}"] = values
    preview = table.slice(0, PREVIEW_ROWS).to_pylist()
    return columns, arrays, [{k: _jsonable(v) for k, v in row.items()} for row in preview]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
