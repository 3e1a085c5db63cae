"""Small upload files of every format, made in memory for the dataset tests."""

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def thermometer_csv() -> bytes:
    """The thermometer readings as examples/ ships them."""
    return (EXAMPLES / "thermometer.csv").read_bytes()


def churn_rows(n: int = 60) -> list[tuple[float, str, bool, str]]:
    """A small churn-like table: tenure, plan (a category), paperless (a boolean), churned (the target)."""
    rng = np.random.default_rng(0)
    plans = ["basic", "plus", "pro"]
    return [(float(rng.integers(1, 72)), plans[i % 3], bool(i % 2), "yes" if i % 3 == 0 else "no") for i in range(n)]


def churn_csv(delimiter: str = ",") -> bytes:
    """The churn table as CSV (or TSV)."""
    lines = [delimiter.join(["tenure", "plan", "paperless", "churned"])]
    lines += [delimiter.join([f"{t:g}", p, str(b).lower(), c]) for t, p, b, c in churn_rows()]
    return ("\n".join(lines) + "\n").encode()


def gzipped(data: bytes) -> bytes:
    """The bytes gzipped."""
    return gzip.compress(data, mtime=0)


def parquet_table() -> bytes:
    """A Parquet table: two number features, a nullable float, and an integer class target."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    table = pa.table({"a": x[:, 0], "b": x[:, 1], "label": (x[:, 0] + x[:, 1] > 0).astype(np.int64)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def npz_arrays(**arrays: np.ndarray) -> bytes:
    """An NPZ of these arrays."""
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def pickled_npz() -> bytes:
    """An NPZ whose `x` is an array of Python objects: numpy stores it pickled."""
    out = io.BytesIO()
    np.savez(out, x=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.array([0, 1]))
    return out.getvalue()


def png(pixels: np.ndarray) -> bytes:
    """One PNG image of these uint8 pixels ([H, W] grey or [H, W, 3] colour)."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def image_zip(images: dict[str, bytes]) -> bytes:
    """A zip of these entries (path -> bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in images.items():
            archive.writestr(name, data)
    return out.getvalue()


def image_tar(images: dict[str, bytes], mode: str = "w:gz") -> bytes:
    """A tar (gzipped by default) of these entries."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in images.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def two_class_images(n: int = 8, size: int = 8) -> dict[str, bytes]:
    """Grey images in two class folders: dark squares and light squares."""
    rng = np.random.default_rng(2)
    images = {}
    for i in range(n):
        for label, base in (("dark", 40), ("light", 210)):
            pixels = np.clip(base + rng.normal(0, 10, (size, size)), 0, 255).astype(np.uint8)
            images[f"{label}/{i:03d}.png"] = png(pixels)
    return images
