"""NPZ uploads: arrays `x` and `y`, read without pickle; member sizes checked from the zip directory first."""

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.components.base import Task
from core.datasets.errors import DatasetRejected
from core.datasets.schema import Column, DatasetSchema
from core.datasets.tables import numeric_column
from core.datasets.tasks import target_task

Arrays = dict[str, np.ndarray]


def _check_members(path: Path, filename: str, *, max_unpacked: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info.file_size for info in archive.infolist()}
    except zipfile.BadZipFile as exc:
        raise DatasetRejected(f"{filename}: not an NPZ (zip) file") from exc
    missing = [name for name in ("x.npy", "y.npy") if name not in members]
    if missing:
        raise DatasetRejected(f"{filename}: an NPZ needs arrays 'x' and 'y'; it has {sorted(members) or 'none'}")
    if sum(members.values()) > max_unpacked:
        raise DatasetRejected(f"{filename}: its arrays unpack to more than {max_unpacked:,} bytes", status=413)


def _load(path: Path, filename: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return npz["x"], npz["y"]
    except ValueError as exc:  # numpy's refusal of object (pickled) arrays, or a damaged header
        if "pickle" in str(exc):
            raise DatasetRejected(f"{filename}: arrays of Python objects (pickled) are refused; save numbers") from exc
        raise DatasetRejected(f"{filename}: an array cannot be read ({exc})") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetRejected(f"{filename}: an array cannot be read ({exc})") from exc


def _check_shapes(x: np.ndarray, y: np.ndarray, filename: str) -> None:
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise DatasetRejected(f"{filename}: 'x' and 'y' must hold numbers (x is {x.dtype}, y is {y.dtype})")
    if x.ndim not in (2, 3, 4) or y.ndim not in (1, 2) or len(x) != len(y):
        raise DatasetRejected(
            f"{filename}: 'x' must be [N, features] or images [N, H, W] / [N, C, H, W] and 'y' [N] or [N, labels] "
            f"of the same N; got x {list(x.shape)} and y {list(y.shape)}"
        )
    if 0 in x.shape[1:] or (y.ndim == 2 and y.shape[1] == 0):
        raise DatasetRejected(f"{filename}: 'x' or 'y' has an empty dimension: x {list(x.shape)}, y {list(y.shape)}")
    if len(x) < 2:
        raise DatasetRejected(f"{filename}: 'x' has fewer than 2 samples")


def _multilabel(y: np.ndarray, filename: str) -> list[str]:
    if not np.isin(y, (0, 1)).all():
        raise DatasetRejected(f"{filename}: a 2-D 'y' is read as multi-label and must hold only 0 and 1")
    return [str(i) for i in range(y.shape[1])]


def read_npz(
    path: Path, filename: str, *, task: Task | None, max_unpacked: int, max_rows: int
) -> tuple[DatasetSchema, Arrays]:
    """The NPZ's schema and canonical arrays (x as float32 or uint8 images [N, C, H, W], y as float64)."""
    _check_members(path, filename, max_unpacked=max_unpacked)
    x, y = _load(path, filename)
    _check_shapes(x, y, filename)
    if len(x) > max_rows:
        raise DatasetRejected(f"{filename}: {len(x):,} samples, above this server's limit of {max_rows:,}")
    if x.ndim == 3:
        x = x[:, None]
    images = x.ndim == 4
    y = y.astype(np.float64)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DatasetRejected(f"{filename}: 'x' holds NaN or infinite values")
    if not np.isfinite(y).all():  # no column to drop or fill by: every sample needs its target
        first = int(np.flatnonzero(~np.isfinite(y.reshape(len(y), -1).sum(axis=1)))[0])
        raise DatasetRejected(f"{filename}: 'y' holds NaN or infinite values (the first at sample {first})")
    if y.ndim == 2:
        chosen: Task = "multilabel_classification"
        classes = _multilabel(y, filename)
    else:
        target = numeric_column("y", y, int(np.isnan(y).sum()))
        chosen, classes = target_task(target, task, where=filename)
    shape = list(x.shape[1:])
    columns = [
        Column(name="x", dtype="array", nulls=0, role="feature"),
        Column(name="y", dtype="number", nulls=int(np.isnan(y).sum()), role="target"),
    ]
    preview: list[dict[str, Any]] = [{"y": v} for v in y[:10].tolist()]
    schema = DatasetSchema(
        format="npz",
        rows=len(x),
        task=chosen,
        target="y",
        classes=classes,
        columns=columns,
        inputs="images" if images else "features",
        shape=shape,
        preview=preview,
    )
    return schema, {"x": x.astype(np.float32), "y": y}
