"""The artifact store: content-addressed blobs written atomically under GRADYARD_ARTIFACT_DIR. Nothing outside this
module builds a path into it, so an object store can take its place behind the same few calls."""

import hashlib
import os
import uuid
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from core.settings import get_settings

TEMP = ".incoming"  # unfinished writes; never a key


def dataset_key(sha256: str) -> str:
    """Where an uploaded file's bytes live: by their hash, so the same bytes are stored once."""
    return f"datasets/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def canonical_key(sha256: str) -> str:
    """Where the parsed (canonical, numpy) form of an uploaded file lives."""
    return f"datasets/canonical/{sha256[:2]}/{sha256}.npz"


def model_key(job_id: str, filename: str) -> str:
    """Where a job's model files live (final.safetensors, best.onnx, model.json...): one folder per job."""
    return f"models/{job_id}/{filename}"


def model_filename(which: str, fmt: str) -> str:
    """The file name of one set of weights in one format: final.safetensors, best.onnx."""
    return f"{which}.{fmt}"


MODEL_CARD = "model.json"


class BlobWriter:
    """A file being written into the store: hashed as it streams, visible under a key only after commit."""

    def __init__(self, temp_dir: Path) -> None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        self.path = temp_dir / uuid.uuid4().hex
        self._file: BinaryIO = self.path.open("wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Append a chunk and fold it into the hash."""
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self) -> str:
        """Close the file (flushed to disk) and return its sha256."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._hash.hexdigest()

    def abort(self) -> None:
        """Forget the write: nothing of it stays on disk."""
        self._file.close()
        self.path.unlink(missing_ok=True)


class ArtifactStore:
    """Blobs under a root directory, each written to a temporary file and renamed into place (atomic)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"not a store key: {key!r}")
        return self.root / key

    def writer(self) -> BlobWriter:
        """A new streamed write; commit it with `commit`, or `abort` it."""
        return BlobWriter(self.root / TEMP)

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh temporary path inside the store (same filesystem, so a commit is a rename)."""
        (self.root / TEMP).mkdir(parents=True, exist_ok=True)
        return self.root / TEMP / f"{uuid.uuid4().hex}{suffix}"

    def commit(self, temp: Path, key: str) -> None:
        """Move a finished temporary file under its key; an existing blob with the key is kept (same content)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            temp.unlink(missing_ok=True)
            return
        os.replace(temp, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write small content under a key, atomically."""
        temp = self.temp_path()
        temp.write_bytes(data)
        self.commit(temp, key)

    def local_path(self, key: str) -> Path:
        """A local file holding the blob, for readers that memory-map or seek (numpy, pyarrow)."""
        return self._path(key)

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under the key."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove a blob; a missing one is fine."""
        self._path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        """A blob's size in bytes (0 when missing)."""
        path = self._path(key)
        return path.stat().st_size if path.is_file() else 0

    def delete_folder(self, prefix: str) -> None:
        """Remove every blob under a key prefix (a job's model folder); a missing folder is fine."""
        folder = self._path(prefix.rstrip("/"))
        if folder.is_dir():
            for child in folder.iterdir():
                child.unlink(missing_ok=True)
            folder.rmdir()

    def count_files(self) -> int:
        """Every file under the root, unfinished writes included (what tests count before and after a refusal)."""
        return sum(len(files) for _, _, files in os.walk(self.root))


@lru_cache
def get_store() -> ArtifactStore:
    """The process's store, at GRADYARD_ARTIFACT_DIR."""
    return ArtifactStore(get_settings().artifact_dir)
