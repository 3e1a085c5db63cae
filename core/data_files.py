"""Where torchvision's dataset files are expected under GRADYARD_DATA_DIR, checked without importing torch."""

from pathlib import Path

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")

# torchvision's own layout under its root: the API checks it, the worker hands the root to torchvision.
TORCHVISION_FILES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(f"MNIST/raw/{name}" for name in MNIST_FILES),
    "fashion_mnist": tuple(f"FashionMNIST/raw/{name}" for name in MNIST_FILES),
    "cifar10": (*(f"cifar-10-batches-py/{name}" for name in CIFAR10_FILES), "cifar-10-batches-py/batches.meta"),
}


def missing_files(dataset: str, data_dir: Path) -> list[Path]:
    """The files of a torchvision dataset that are not under data_dir (empty for other datasets)."""
    return [data_dir / rel for rel in TORCHVISION_FILES.get(dataset, ()) if not (data_dir / rel).is_file()]


def missing_message(dataset: str, data_dir: Path) -> str:
    """What to do when a torchvision dataset's files are absent and downloading is off."""
    return (
        f"dataset '{dataset}' is not in GRADYARD_DATA_DIR={data_dir}: put the torchvision files there "
        f"(expected {data_dir / TORCHVISION_FILES[dataset][0]} and the rest of torchvision's layout) "
        "or set GRADYARD_DOWNLOAD_DATASETS=on"
    )
