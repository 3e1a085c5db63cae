"""Image archives (zip or tar, one folder per class) read with Pillow into uint8 arrays [N, C, H, W]. Every entry
is checked before anything is unpacked: no '..', no absolute path, no link, bounded count, sizes and ratio."""

import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from core.datasets.errors import DatasetRejected
from core.datasets.schema import Column, DatasetSchema

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Limits:
    """The archive limits from the settings."""

    max_images: int
    max_pixels: int
    max_unpacked: int
    max_ratio: int


@dataclass(frozen=True)
class Entry:
    """One image file of the archive: its class folder, its name and its (declared) unpacked size."""

    label: str
    name: str
    size: int


def _safe_name(name: str, filename: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DatasetRejected(f"{filename}: entry '{name}' points outside the archive ('..' or an absolute path)")
    return path


def _wanted(path: PurePosixPath) -> bool:
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in path.parts)
    return not hidden and path.suffix.lower() in IMAGE_SUFFIXES


def _zip_entries(archive: zipfile.ZipFile, filename: str, limits: Limits) -> list[Entry]:
    entries, total = [], 0
    for info in archive.infolist():
        path = _safe_name(info.filename, filename)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise DatasetRejected(f"{filename}: entry '{info.filename}' is a link; links are refused")
        if info.is_dir() or not _wanted(path):
            continue
        total += info.file_size
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise DatasetRejected(
                f"{filename}: entry '{info.filename}' unpacks {info.file_size // max(info.compress_size, 1):,} times "
                f"its packed size, above the limit of {limits.max_ratio} (a zip bomb?)",
                status=413,
            )
        entries.append(Entry(path.parent.name, info.filename, info.file_size))
    _check_totals(entries, total, filename, limits)
    return entries


def _tar_entries(archive: tarfile.TarFile, filename: str, limits: Limits) -> list[Entry]:
    entries, total = [], 0
    for info in archive:  # a compressed tar declares sizes only as it is read: the totals are checked on the way
        path = _safe_name(info.name, filename)
        if info.issym() or info.islnk() or info.isdev():
            raise DatasetRejected(f"{filename}: entry '{info.name}' is a link or device; links are refused")
        if not info.isfile() or not _wanted(path):
            continue
        total += info.size
        entries.append(Entry(path.parent.name, info.name, info.size))
        _check_totals(entries, total, filename, limits)
    _check_totals(entries, total, filename, limits)
    return entries


def _check_totals(entries: list[Entry], total: int, filename: str, limits: Limits) -> None:
    if len(entries) > limits.max_images:
        raise DatasetRejected(f"{filename}: more than {limits.max_images:,} images, this server's limit", status=413)
    if total > limits.max_unpacked:
        raise DatasetRejected(f"{filename}: its images unpack to more than {limits.max_unpacked:,} bytes", status=413)


def _decode(data: bytes, entry: Entry, filename: str, limits: Limits) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size  # from the header: checked before the pixels are decoded
        if width * height > limits.max_pixels:
            raise DatasetRejected(
                f"{filename}: image '{entry.name}' has {width}x{height} pixels, above the limit of "
                f"{limits.max_pixels:,}",
                status=413,
            )
        image.load()
    except DatasetRejected:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetRejected(f"{filename}: '{entry.name}' is not a readable PNG or JPEG image") from exc
    return image


def _entries_and_reader(path: Path, filename: str, limits: Limits) -> tuple[list[Entry], "Reader"]:
    if zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DatasetRejected(f"{filename}: the zip archive is damaged ({exc})") from exc
        try:
            return _zip_entries(archive, filename, limits), Reader(zip_file=archive)
        except DatasetRejected:
            archive.close()
            raise
    try:
        tar = tarfile.open(path)  # noqa: SIM115 (the Reader owns it and closes it)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DatasetRejected(f"{filename}: not a zip or tar archive", status=415) from exc
    try:
        return _tar_entries(tar, filename, limits), Reader(tar_file=tar)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        tar.close()
        raise DatasetRejected(f"{filename}: the archive is damaged ({exc})") from exc
    except DatasetRejected:
        tar.close()
        raise


@dataclass
class Reader:
    """Reads one entry's bytes from whichever archive it is."""

    zip_file: zipfile.ZipFile | None = None
    tar_file: tarfile.TarFile | None = None

    def read(self, name: str, filename: str) -> bytes:
        """The entry's bytes; DatasetRejected when the archive is damaged."""
        try:
            if self.zip_file is not None:
                return self.zip_file.read(name)
            assert self.tar_file is not None
            member = self.tar_file.extractfile(name)
            assert member is not None
            return member.read()
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DatasetRejected(f"{filename}: entry '{name}' cannot be read ({exc})") from exc

    def close(self) -> None:
        """Close the archive."""
        (self.zip_file or self.tar_file).close()  # type: ignore[union-attr]


def _images(entries: list[Entry], reader: Reader, filename: str, limits: Limits) -> Iterator[np.ndarray]:
    first: tuple[int, int] | None = None
    colour = False
    decoded = []
    for entry in entries:
        image = _decode(reader.read(entry.name, filename), entry, filename, limits)
        if first is None:
            first = image.size
            if len(entries) * first[0] * first[1] * 3 > limits.max_unpacked:
                raise DatasetRejected(
                    f"{filename}: {len(entries):,} images of {first[0]}x{first[1]} decode to more than "
                    f"{limits.max_unpacked:,} bytes",
                    status=413,
                )
        elif image.size != first:
            raise DatasetRejected(
                f"{filename}: image '{entry.name}' is {image.size[0]}x{image.size[1]}, the first was "
                f"{first[0]}x{first[1]}; all images must have one size"
            )
        colour = colour or image.mode not in ("L", "1", "I;16", "I", "F")
        decoded.append(image)
    for image in decoded:
        if colour:
            yield np.asarray(image.convert("RGB")).transpose(2, 0, 1)
        else:
            yield np.asarray(image.convert("L"))[None]


def read_images(path: Path, filename: str, *, limits: Limits) -> tuple[DatasetSchema, Arrays]:
    """The archive's schema (classes from the folders, sorted) and its images as uint8 [N, C, H, W] with labels."""
    entries, reader = _entries_and_reader(path, filename, limits)
    try:
        classes = sorted({entry.label for entry in entries if entry.label})
        if any(not entry.label for entry in entries):
            raise DatasetRejected(f"{filename}: images must sit in one folder per class (cat/0001.png)")
        if len(classes) < 2:
            found = f" ('{classes[0]}')" if classes else ""
            raise DatasetRejected(
                f"{filename}: an image archive needs two class folders or more; it has {len(classes)}{found}"
            )
        x = np.stack(list(_images(entries, reader, filename, limits)))
    finally:
        reader.close()
    y = np.array([classes.index(entry.label) for entry in entries], dtype=np.float64)
    schema = DatasetSchema(
        format="images",
        rows=len(x),
        task="binary_classification" if len(classes) == 2 else "multiclass_classification",
        target="label",
        classes=classes,
        columns=[
            Column(name="image", dtype="array"),
            Column(name="label", dtype="category", role="target", categories=classes),
        ],
        inputs="images",
        shape=list(x.shape[1:]),
        preview=[{"image": e.name, "label": e.label} for e in entries[:10]],
    )
    return schema, {"x": x, "y": y}
