"""Datasets as tensors on the training device: split, outliers put in the training split only, and normalized
with training statistics. What turned raw inputs into the tensors (pixel scaling, the statistics, filled values)
and a few raw rows are kept for the model's export."""

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from core.components import BundledDataset, DatasetSpec, SyntheticRegression, TorchvisionDataset, Upload
from core.facts import DatasetFacts, dataset_facts
from core.settings import get_settings
from worker.datasets.bundled import bundled_arrays
from worker.datasets.synthetic import add_outliers, synthetic_arrays
from worker.datasets.torchvision_files import torchvision_arrays
from worker.datasets.uploaded import uploaded_arrays


@dataclass(frozen=True)
class Split:
    """Inputs and targets of one split, on the device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


SAMPLE_ROWS = 64  # raw rows kept to check an exported model against torch


@dataclass(frozen=True)
class RawInputs:
    """How raw inputs (as a person holds them) became the model's inputs: pixel values divided by `pixel_divisor`,
    then standardised with the training split's `mean` and `scale` (float32, one sample's shape); `fills` are the
    means that missing values of an upload's columns became. `sample` holds raw rows (validation, else training)."""

    sample: np.ndarray
    pixel_divisor: float | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    fills: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TensorData:
    """A dataset ready to train: the training split, the validation split if any, its facts and raw-input facts."""

    train: Split
    val: Split | None
    facts: DatasetFacts
    raw: RawInputs


@dataclass(frozen=True)
class Loaded:
    """Training inputs and targets, then validation inputs and targets, as numpy arrays; how pixels were scaled."""

    x: np.ndarray
    y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    pixel_divisor: float | None = None
    fills: dict[str, float] = field(default_factory=dict)


def _split_arrays(spec: DatasetSpec, rng: np.random.Generator) -> Loaded:
    if isinstance(spec, TorchvisionDataset):
        settings = get_settings()
        arrays = torchvision_arrays(
            spec.name,
            data_dir=settings.data_dir,
            download=settings.download_datasets,
            train_samples=spec.train_samples,
            val_samples=spec.val_samples,
        )
        return Loaded(*arrays, pixel_divisor=255.0)  # 8-bit images divided by 255 (torchvision_files)
    divisor, fills = None, {}
    if isinstance(spec, Upload):
        upload = uploaded_arrays(spec)
        x, y, divisor, fills = upload.x, upload.y, upload.pixel_divisor, upload.fills
    else:
        x, y = bundled_arrays(spec.name) if isinstance(spec, BundledDataset) else synthetic_arrays(spec, rng)
    order = rng.permutation(len(x))
    # Every dataset but torchvision's (returned above) has a val_fraction.
    n_val = round(len(x) * spec.val_fraction)  # type: ignore[attr-defined]
    val_idx, train_idx = order[:n_val], order[n_val:]
    y_train = y[train_idx]
    if isinstance(spec, SyntheticRegression) and spec.outlier_fraction > 0:
        y_train = add_outliers(y_train, fraction=spec.outlier_fraction, scale=spec.outlier_scale, rng=rng)
    return Loaded(x[train_idx], y_train, x[val_idx], y[val_idx], pixel_divisor=divisor, fills=fills)


def _statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training split's mean and scale per input, as `_standardize` applies them."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    return mean, np.where(std > 1e-12, std, 1.0)  # constant features (blank pixels) stay put


def _standardize(x: np.ndarray, val_x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, ...]:
    return (x - mean) / scale, (val_x - mean) / scale


def _raw_rows(x: np.ndarray, divisor: float | None) -> np.ndarray:
    """Rows as a person holds them: pixels times the divisor (whole numbers again when they were 8-bit values)."""
    if divisor is None:
        return x.copy()
    raw = x.astype(np.float32) * np.float32(divisor)
    whole = np.rint(raw)
    return whole if np.allclose(raw, whole, rtol=0, atol=1e-3) else raw


def _targets(y: np.ndarray, facts: DatasetFacts) -> torch.Tensor:
    if facts.task in ("regression", "count_regression"):
        return torch.as_tensor(y.astype(np.float32).reshape(-1, 1))
    if facts.task == "multilabel_classification":
        return torch.as_tensor(y.astype(np.float32))
    return torch.as_tensor(y.astype(np.int64))


def load_data(spec: DatasetSpec, *, seed: int, device: torch.device) -> TensorData:
    """The dataset split into train and validation, normalized with training statistics, on the device."""
    facts = dataset_facts(spec)
    loaded = _split_arrays(spec, np.random.default_rng(seed))
    x, y, val_x, val_y = loaded.x, loaded.y, loaded.val_x, loaded.val_y
    dtype = np.int64 if facts.inputs == "tokens" else np.float32
    x, val_x = x.astype(dtype), val_x.astype(dtype)
    sample = _raw_rows((val_x if len(val_x) else x)[:SAMPLE_ROWS], loaded.pixel_divisor)
    raw = RawInputs(sample.astype(dtype), pixel_divisor=loaded.pixel_divisor, fills=loaded.fills)
    if facts.inputs != "tokens" and getattr(spec, "normalize", "none") == "standard":
        mean, scale = _statistics(x)
        x, val_x = _standardize(x, val_x, mean, scale)
        raw = replace(raw, mean=mean, scale=scale)

    def split(inputs: np.ndarray, targets: np.ndarray) -> Split:
        return Split(torch.as_tensor(inputs).to(device), _targets(targets, facts).to(device))

    return TensorData(split(x, y), split(val_x, val_y) if len(val_x) > 0 else None, facts, raw)


def channels_last(data: TensorData) -> TensorData:
    """The dataset with its image inputs in channels-last memory format, converted once on the device: batches cut
    from it by index or slice keep the format, so no step converts again."""

    def convert(split: Split) -> Split:
        return Split(split.x.contiguous(memory_format=torch.channels_last), split.y)

    return TensorData(convert(data.train), convert(data.val) if data.val is not None else None, data.facts, data.raw)
