"""Write examples/digits-images.zip: 20 of scikit-learn's 8x8 digits for each of 0, 1 and 2, as grey PNGs in one
folder per class (`0/00.png` ...). Run once; the zip is committed, and the same zip comes out of every run."""

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

CLASSES = 3
PER_CLASS = 20
OUT = Path(__file__).resolve().parent / "digits-images.zip"


def main() -> None:
    digits = load_digits()
    with zipfile.ZipFile(OUT, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for label in range(CLASSES):
            for n, index in enumerate(np.flatnonzero(digits.target == label)[:PER_CLASS]):
                pixels = (digits.images[index] * (255 / 16)).round().astype(np.uint8)  # 0..16 ink to 0..255 grey
                png = io.BytesIO()
                Image.fromarray(pixels).save(png, format="PNG")
                # A fixed timestamp: the bytes, and so the sha256 the spec names, do not change between runs.
                entry = zipfile.ZipInfo(f"{label}/{n:02d}.png", date_time=(2020, 1, 1, 0, 0, 0))
                archive.writestr(entry, png.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    print(f"{OUT.name}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
