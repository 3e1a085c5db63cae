"""Datasets load with the shapes and splits their facts promise; the image and token models train on them."""

import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from core.facts import dataset_facts
from core.settings import get_settings
from core.spec import JobSpec
from tests.worker.recording import CPU, run
from worker.data import load_data
from worker.engine import TrainingFailed


def load(raw: dict[str, Any]) -> Any:
    spec = JobSpec.model_validate({"dataset": raw, "model": "mlp", "loss": "mse", "optimizer": "sgd"})
    return load_data(spec.dataset, seed=0, device=CPU)


@pytest.mark.parametrize(
    ("name", "shape", "n", "classes"),
    [
        ("iris", (4,), 150, 3),
        ("wine", (13,), 178, 3),
        ("breast_cancer", (30,), 569, 2),
        ("diabetes", (10,), 442, 0),
        ("digits", (1, 8, 8), 1797, 10),
    ],
)
def test_bundled_datasets_match_their_facts(name: str, shape: tuple[int, ...], n: int, classes: int) -> None:
    data = load({"name": name, "val_fraction": 0.2})
    assert tuple(data.train.x.shape[1:]) == shape and len(data.train) + len(data.val) == n
    assert (len(data.train), len(data.val)) == (data.facts.n_train, data.facts.n_val)
    if classes:
        assert sorted(torch.unique(data.train.y).tolist()) == list(range(classes))
    else:
        assert data.train.y.dtype == torch.float32 and data.train.y.shape == (data.facts.n_train, 1)


def test_outliers_corrupt_only_the_training_targets() -> None:
    clean = load({"name": "synthetic_regression", "n_samples": 500})
    dirty = load({"name": "synthetic_regression", "n_samples": 500, "outlier_fraction": 0.1, "outlier_scale": 20})
    assert torch.equal(clean.val.y, dirty.val.y) and torch.equal(clean.train.x, dirty.train.x)
    changed = (clean.train.y != dirty.train.y).sum().item()
    assert changed == round(400 * 0.1)
    assert (dirty.train.y - clean.train.y).abs().max() > 10 * clean.train.y.std()


def test_class_weights_make_an_imbalanced_set() -> None:
    data = load({"name": "synthetic_classification", "n_samples": 4000, "n_classes": 2, "class_weights": [19, 1]})
    minority = data.train.y.float().mean().item()
    assert 0.03 < minority < 0.07


def test_multilabel_and_count_targets() -> None:
    multi = load({"name": "synthetic_multilabel", "n_samples": 300, "n_labels": 6})
    assert multi.train.y.shape == (240, 6) and set(multi.train.y.unique().tolist()) == {0.0, 1.0}
    assert multi.train.y.sum(dim=1).min() >= 1  # every sample has a label
    counts = load({"name": "synthetic_counts", "n_samples": 300})
    assert torch.equal(counts.train.y, counts.train.y.round()) and counts.train.y.min() >= 0


def test_tokens_are_ids_within_the_vocabulary() -> None:
    data = load({"name": "synthetic_tokens", "n_samples": 100, "vocab_size": 50, "seq_len": 7})
    assert data.train.x.dtype == torch.int64 and data.train.x.shape == (80, 7)
    assert data.train.x.min() >= 0 and data.train.x.max() < 50


@pytest.mark.parametrize(
    ("model", "dataset"),
    [
        ({"name": "lenet"}, {"name": "synthetic_images", "n_samples": 300, "channels": 1, "image_size": 28}),
        ({"name": "lenet", "activation": "tanh"}, {"name": "synthetic_images", "n_samples": 300}),
        (  # the ImageNet stem (stride 2 and max-pooling) keeps this one cheap on a CPU
            {"name": "resnet18", "small_inputs": False},
            {"name": "synthetic_images", "n_samples": 30, "n_classes": 3, "channels": 1, "image_size": 28},
        ),
        ({"name": "logistic"}, {"name": "iris", "normalize": "standard"}),
        ({"name": "embedding_bag", "mode": "sum"}, {"name": "synthetic_tokens", "n_samples": 300}),
    ],
)
def test_models_train_on_their_inputs(model: dict[str, Any], dataset: dict[str, Any]) -> None:
    raw = {"dataset": dataset, "model": model, "loss": "cross_entropy", "optimizer": "adam"}
    heavy = model["name"] == "resnet18"  # 11M parameters: two epochs of small batches on a slow CPU
    outcome, recorder = run(raw | ({"batch_size": 8, "epochs": 2} if heavy else {"batch_size": 32, "epochs": 3}))
    losses = recorder.series("train_loss")
    assert outcome.status == "succeeded" and losses[-1] < losses[0]
    assert all(math.isfinite(v) for v in recorder.series("val_accuracy"))


def _idx(path: Path, array: np.ndarray) -> None:
    """Write an array in the IDX format torchvision's MNIST reader takes (magic, big-endian sizes, raw bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    magic = 0x0800 + array.ndim  # unsigned bytes
    path.write_bytes(struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GRADYARD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_mnist_is_read_from_torchvision_files_in_the_data_dir(data_dir: Path) -> None:
    rng = np.random.default_rng(0)
    raw = data_dir / "MNIST" / "raw"
    for prefix, n in (("train", 40), ("t10k", 12)):
        labels = np.arange(n) % 10
        images = (rng.random((n, 28, 28)) * 40).astype(np.uint8) + (labels * 20)[:, None, None].astype(np.uint8)
        _idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    data = load({"name": "mnist", "train_samples": 30, "val_samples": 12})
    assert data.train.x.shape == (30, 1, 28, 28) and data.val.x.shape == (12, 1, 28, 28)
    assert data.val.y.tolist() == [i % 10 for i in range(12)]
    assert abs(data.train.x.mean().item()) < 1e-5  # standardized by default, on training statistics
    raw_spec = {"model": "lenet", "loss": "cross_entropy", "optimizer": "adam", "epochs": 2, "batch_size": 10}
    outcome, _ = run(raw_spec | {"dataset": {"name": "mnist", "train_samples": 30}})
    assert outcome.status == "succeeded"


def test_a_missing_torchvision_dataset_fails_and_says_where_it_looked(data_dir: Path) -> None:
    raw = {"dataset": "cifar10", "model": "cifar_cnn", "loss": "cross_entropy", "optimizer": "sgd", "epochs": 1}
    with pytest.raises(TrainingFailed) as caught:
        run(raw)
    assert str(caught.value).startswith(f"dataset 'cifar10' is not in GRADYARD_DATA_DIR={data_dir}: ")
    assert str(caught.value).endswith("or set GRADYARD_DOWNLOAD_DATASETS=on")
    assert dataset_facts(JobSpec.model_validate(raw).dataset).n_train == 50_000
