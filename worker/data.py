"""Datasets as tensors on the training device: split, outliers put in the training split only, and normalized
with training statistics."""

from dataclasses import dataclass

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


@dataclass(frozen=True)
class TensorData:
    """A dataset ready to train: the training split, the validation split if any, and its facts."""

    train: Split
    val: Split | None
    facts: DatasetFacts


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _split_arrays(spec: DatasetSpec, rng: np.random.Generator) -> Arrays:
    """Training inputs and targets, then validation inputs and targets, as numpy arrays."""
    if isinstance(spec, TorchvisionDataset):
        settings = get_settings()
        return torchvision_arrays(
            spec.name,
            data_dir=settings.data_dir,
            download=settings.download_datasets,
            train_samples=spec.train_samples,
            val_samples=spec.val_samples,
        )
    if isinstance(spec, Upload):
        x, y = uploaded_arrays(spec)
    else:
        x, y = bundled_arrays(spec.name) if isinstance(spec, BundledDataset) else synthetic_arrays(spec, rng)
    order = rng.permutation(len(x))
    # Every dataset but torchvision's (returned above) has a val_fraction.
    n_val = round(len(x) * spec.val_fraction)  # type: ignore[attr-defined]
    val_idx, train_idx = order[:n_val], order[n_val:]
    y_train = y[train_idx]
    if isinstance(spec, SyntheticRegression) and spec.outlier_fraction > 0:
        y_train = add_outliers(y_train, fraction=spec.outlier_fraction, scale=spec.outlier_scale, rng=rng)
    return x[train_idx], y_train, x[val_idx], y[val_idx]


def _standardize(x: np.ndarray, val_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0)
    scale = np.where(std > 1e-12, std, 1.0)  # constant features (blank pixels) stay put
    return (x - mean) / scale, (val_x - mean) / scale


def _targets(y: np.ndarray, facts: DatasetFacts) -> torch.Tensor:
    if facts.task in ("regression", "count_regression"):
        return torch.as_tensor(y.astype(np.float32).reshape(-1, 1))
    if facts.task == "multilabel_classification":
        return torch.as_tensor(y.astype(np.float32))
    return torch.as_tensor(y.astype(np.int64))


def load_data(spec: DatasetSpec, *, seed: int, device: torch.device) -> TensorData:
    """The dataset split into train and validation, normalized with training statistics, on the device."""
    facts = dataset_facts(spec)
    x, y, val_x, val_y = _split_arrays(spec, np.random.default_rng(seed))
    if facts.inputs == "tokens":
        x, val_x = x.astype(np.int64), val_x.astype(np.int64)
    else:
        x, val_x = x.astype(np.float32), val_x.astype(np.float32)
        if getattr(spec, "normalize", "none") == "standard":
            x, val_x = _standardize(x, val_x)

    def split(inputs: np.ndarray, targets: np.ndarray) -> Split:
        return Split(torch.as_tensor(inputs).to(device), _targets(targets, facts).to(device))

    return TensorData(split(x, y), split(val_x, val_y) if len(val_x) > 0 else None, facts)


def channels_last(data: TensorData) -> TensorData:
    """The dataset with its image inputs in channels-last memory format, converted once on the device: batches cut
    from it by index or slice keep the format, so no step converts again."""

    def convert(split: Split) -> Split:
        return Split(split.x.contiguous(memory_format=torch.channels_last), split.y)

    return TensorData(convert(data.train), convert(data.val) if data.val is not None else None, data.facts)
