"""One uploaded file to a dataset: its format found, parsed once, its schema and task worked out, and its canonical
form (an uncompressed NPZ the worker loads without parsing again) written to a temporary file."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.components.base import Task
from core.datasets.arrays import read_npz
from core.datasets.errors import DatasetRejected
from core.datasets.images import Limits, read_images
from core.datasets.schema import DatasetSchema, Format
from core.datasets.tables import describe_table, read_csv, read_parquet
from core.datasets.tasks import target_task
from core.settings import Settings

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class Options:
    """What the uploader may say: the target column and the task (both found when not said)."""

    target: str | None = None
    task: Task | None = None


def detect_format(filename: str, head: bytes) -> Format:
    """The file's format from its name, checked against its first bytes; 415 when it is none gradyard reads."""
    lower = filename.lower()
    if lower.endswith((".parquet", ".pq")):
        found: Format = "parquet"
    elif lower.endswith(".npz"):
        found = "npz"
    elif lower.endswith(ARCHIVE_SUFFIXES):
        found = "images"
    elif lower.endswith(TABLE_SUFFIXES):
        found = "csv"
    else:
        raise DatasetRejected(
            f"{filename}: unsupported format; send CSV/TSV (.csv, .tsv, optionally .gz), Parquet (.parquet), "
            "NPZ (.npz) or an image archive (.zip, .tar, .tar.gz)",
            status=415,
        )
    if found == "parquet" and not head.startswith(b"PAR1"):
        raise DatasetRejected(f"{filename}: named .parquet but not a Parquet file", status=415)
    if found == "npz" and not head.startswith(b"PK"):
        raise DatasetRejected(f"{filename}: named .npz but not an NPZ (zip) file", status=415)
    return found


def _table(
    path: Path, filename: str, fmt: Format, options: Options, settings: Settings
) -> tuple[DatasetSchema, dict[str, np.ndarray]]:
    limit = settings.max_dataset_columns
    reader = read_parquet if fmt == "parquet" else read_csv
    table = reader(path, filename, max_columns=limit)
    if table.num_columns < 2:
        raise DatasetRejected(f"{filename}: a table needs a target column and at least one feature column")
    columns, arrays, preview = describe_table(table, filename, max_rows=settings.max_dataset_rows)
    target_name = options.target or columns[-1].name
    target = next((c for c in columns if c.name == target_name), None)
    if target is None:
        names = ", ".join(f"'{c.name}'" for c in columns[:20])
        raise DatasetRejected(f"{filename}: target column '{target_name}' does not exist; columns: {names}")
    task, classes = target_task(target, options.task, where=filename)
    columns = [c.model_copy(update={"role": "target"}) if c.name == target_name else c for c in columns]
    features = [c for c in columns if c.role == "feature"]
    schema = DatasetSchema(
        format=fmt,
        rows=table.num_rows,
        task=task,
        target=target_name,
        classes=classes,
        columns=columns,
        shape=[len(features)],
        preview=preview,
    )
    return schema, arrays


def ingest(
    path: Path, filename: str, options: Options, settings: Settings
) -> tuple[DatasetSchema, dict[str, np.ndarray]]:
    """Parse the uploaded file once: its schema and canonical arrays, or DatasetRejected naming what is wrong."""
    with path.open("rb") as probe:
        head = probe.read(8)
    if not head:
        raise DatasetRejected(f"{filename}: the file is empty")
    fmt = detect_format(filename, head)
    if fmt in ("csv", "parquet"):
        return _table(path, filename, fmt, options, settings)
    if fmt == "npz":
        return read_npz(
            path,
            filename,
            task=options.task,
            max_unpacked=settings.max_unpacked_bytes,
            max_rows=settings.max_dataset_rows,
        )
    limits = Limits(
        max_images=settings.max_dataset_images,
        max_pixels=settings.max_image_pixels,
        max_unpacked=settings.max_unpacked_bytes,
        max_ratio=settings.max_compression_ratio,
    )
    return read_images(path, filename, limits=limits)


def write_canonical(arrays: dict[str, np.ndarray], path: Path) -> None:
    """The canonical form: an uncompressed NPZ (no pickle), which numpy reads at disk speed."""
    with path.open("wb") as out:
        np.savez(out, allow_pickle=False, **arrays)
