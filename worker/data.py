"""Datasets as tensors on the training device: generated or bundled, split, and normalized on the training split."""

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits

from core.components import (
    DatasetSpec,
    Digits,
    SyntheticClassification,
    SyntheticImages,
    SyntheticRegression,
    Thermometer,
)
from core.fit import DatasetFacts, dataset_facts

# The classic Celsius example: readings of an unknown thermometer (t_u) against degrees Celsius (t_c).
THERMOMETER_T_C = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
THERMOMETER_T_U = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]


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


def _arrays(spec: DatasetSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Raw inputs (float) and targets (float for regression, int labels for classification)."""
    match spec:
        case Thermometer():
            return np.array(THERMOMETER_T_U).reshape(-1, 1), np.array(THERMOMETER_T_C)
        case Digits():
            bunch = load_digits()
            return bunch.data, bunch.target
        case SyntheticRegression():
            x = rng.normal(size=(spec.n_samples, spec.n_features))
            w = rng.normal(size=spec.n_features)
            return x, x @ w + spec.noise * rng.normal(size=spec.n_samples)
        case SyntheticClassification():
            centres = rng.normal(scale=spec.class_sep, size=(spec.n_classes, spec.n_features))
            labels = rng.integers(spec.n_classes, size=spec.n_samples)
            return centres[labels] + rng.normal(size=(spec.n_samples, spec.n_features)), labels
        case SyntheticImages():
            # Each class is a coarse 8x8 colour pattern blown up to 32x32, so a CNN has local structure to find.
            coarse = rng.normal(size=(spec.n_classes, 3, 8, 8))
            patterns = np.kron(coarse, np.ones((1, 1, 4, 4)))
            labels = rng.integers(spec.n_classes, size=spec.n_samples)
            noise = spec.noise * rng.normal(size=(spec.n_samples, 3, 32, 32))
            return patterns[labels] + noise, labels


def load_data(spec: DatasetSpec, *, seed: int, device: torch.device) -> TensorData:
    """The dataset split into train and validation, normalized with training statistics, on the device."""
    facts = dataset_facts(spec)
    rng = np.random.default_rng(seed)
    x, y = _arrays(spec, rng)
    order = rng.permutation(len(x))
    n_val = round(len(x) * spec.val_fraction)
    val_idx, train_idx = order[:n_val], order[n_val:]
    x = x.astype(np.float32)
    if spec.normalize == "standard":
        mean = x[train_idx].mean(axis=0)
        std = x[train_idx].std(axis=0)
        x = (x - mean) / np.where(std > 1e-12, std, 1.0)  # constant features (blank pixels) stay put
    if facts.task == "regression":
        targets = torch.as_tensor(y.astype(np.float32).reshape(-1, 1))
    else:
        targets = torch.as_tensor(y.astype(np.int64))
    inputs = torch.as_tensor(x.astype(np.float32))

    def split(idx: np.ndarray) -> Split:
        index = torch.as_tensor(idx)
        return Split(inputs[index].to(device), targets[index].to(device))

    return TensorData(split(train_idx), split(val_idx) if n_val > 0 else None, facts)
