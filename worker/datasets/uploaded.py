"""An uploaded dataset as arrays, from its canonical form in the artifact store (parsed once, at upload): features
one-hot encoded where they are categories, missing values handled as the job asked, targets as class indices."""

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from core.components.upload import ResolvedColumn, ResolvedUpload, Upload
from core.store import canonical_key, get_store


class UploadMissing(RuntimeError):
    """The dataset's stored form is gone (deleted after the job was admitted)."""


@dataclass(frozen=True)
class UploadArrays:
    """An upload's inputs and targets, with what a model export must know about how its raw values were changed."""

    x: np.ndarray
    y: np.ndarray
    pixel_divisor: float | None = None  # 8-bit images: raw pixels were divided by this
    fills: dict[str, float] = field(default_factory=dict)  # missing: mean: each number column's fill


def _feature(values: np.ndarray, column: ResolvedColumn) -> np.ndarray:
    if column.dtype == "category":
        one_hot = np.zeros((len(values), column.width), dtype=np.float32)
        present = values >= 0
        one_hot[np.flatnonzero(present), values[present]] = 1.0
        return one_hot
    return values.astype(np.float64).reshape(-1, 1)


def _target(values: np.ndarray, r: ResolvedUpload) -> np.ndarray:
    if r.class_values is not None:
        return np.searchsorted(np.asarray(r.class_values), values).astype(np.int64)
    if r.task in ("binary_classification", "multiclass_classification"):
        return values.astype(np.int64)  # category codes (or booleans 0/1) are the class indices already
    return values.astype(np.float64)


def _present(values: np.ndarray, column: ResolvedColumn) -> np.ndarray:
    return values >= 0 if column.dtype == "category" else ~np.isnan(values)


def _table(arrays: np.lib.npyio.NpzFile, spec: Upload, r: ResolvedUpload) -> UploadArrays:
    assert r.target is not None
    target = arrays[f"col_{r.target.index}"]
    columns = [arrays[f"col_{c.index}"] for c in r.features]
    keep = _present(target, r.target)
    if spec.missing == "drop_rows":
        for values, column in zip(columns, r.features, strict=True):
            keep &= _present(values, column)
    parts, fills = [], {}
    for values, column in zip(columns, r.features, strict=True):
        part = _feature(values[keep], column)
        if column.dtype != "category" and spec.missing == "mean":
            # The column's mean over the rows kept: what its missing values become here, and in a prediction request.
            mean = float(np.nanmean(part)) if (~np.isnan(part)).any() else float("nan")
            if np.isnan(part).any():
                part = np.where(np.isnan(part), mean, part)
            if np.isfinite(mean):
                fills[column.name] = mean
        parts.append(part)
    return UploadArrays(np.concatenate(parts, axis=1), _target(target[keep], r), fills=fills)


def _resize(x: np.ndarray, size: int) -> np.ndarray:
    """Images [N, C, H, W] resized to size x size (bilinear, antialiased), a batch at a time."""
    parts = [
        functional.interpolate(torch.from_numpy(x[i : i + 1024]), size=(size, size), mode="bilinear", antialias=True)
        for i in range(0, len(x), 1024)
    ]
    return torch.cat(parts).numpy()


def uploaded_arrays(spec: Upload) -> UploadArrays:
    """Inputs and targets of the upload the job pinned (by its sha256)."""
    r = spec.resolved
    assert r is not None, "the server resolves an upload at submit"
    path = get_store().local_path(canonical_key(r.sha256))
    if not path.is_file():
        raise UploadMissing(f"dataset '{r.label}' (sha256 {r.sha256[:12]}...) is no longer stored")
    with np.load(path, allow_pickle=False) as arrays:
        if r.format in ("csv", "parquet"):
            return _table(arrays, spec, r)
        x, y = arrays["x"], arrays["y"]
    divisor = None
    if x.dtype == np.uint8:
        x, divisor = x.astype(np.float32) / 255.0, 255.0
    if spec.image_size is not None and x.shape[-2:] != (spec.image_size, spec.image_size):
        x = _resize(x.astype(np.float32), spec.image_size)
    targets = y.astype(np.float32) if r.task == "multilabel_classification" else _target(y, r)
    return UploadArrays(x, targets, pixel_divisor=divisor)
