"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision, read from GRADYARD_DATA_DIR (downloaded only when the
deployment turns GRADYARD_DOWNLOAD_DATASETS on). The official test split is the validation split."""

from pathlib import Path

import numpy as np
from torchvision import datasets

from core.data_files import missing_files, missing_message

_CLASSES = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}


class DatasetMissing(Exception):
    """The dataset's files are not in the data directory and downloading is off."""


def _arrays(name: str, root: Path, *, train: bool, download: bool, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    dataset = _CLASSES[name](root=str(root), train=train, download=download)
    images = np.asarray(dataset.data[:limit], dtype=np.float32) / 255.0
    labels = np.asarray(dataset.targets[:limit], dtype=np.int64)
    # MNIST comes as N x 28 x 28, CIFAR-10 as N x 32 x 32 x 3: both become N x C x H x W.
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    return images, labels


def torchvision_arrays(
    name: str, *, data_dir: Path, download: bool, train_samples: int | None, val_samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training images and labels, then validation (test-split) images and labels, as N x C x H x W floats in [0, 1]."""
    if not download and missing_files(name, data_dir):
        raise DatasetMissing(missing_message(name, data_dir))
    x, y = _arrays(name, data_dir, train=True, download=download, limit=train_samples)
    val_x, val_y = _arrays(name, data_dir, train=False, download=download, limit=val_samples)
    return x, y, val_x, val_y
