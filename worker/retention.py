"""What a job holds in the store once it ends: its model files, and its last checkpoint only when the deployment
keeps checkpoints (`keep_checkpoints`); the job row's `bytes_held` says how many bytes that is."""

import logging
import re
from pathlib import Path

from core import repository
from core.db import session_scope
from core.model_card import ModelFormat, Which
from core.settings import get_settings
from core.store import MODEL_CARD, get_store, model_filename, model_key
from worker.checkpoint import checkpoint_folder

log = logging.getLogger(__name__)
ENVIRONMENT = "environment.json"
_CHECKPOINT = re.compile(r"checkpoint-a(\d+)-s(\d+)\.pt")
_WHICH: tuple[Which, ...] = ("final", "best")
_FORMATS: tuple[ModelFormat, ...] = ("safetensors", "onnx")
MODEL_FILES = (*(model_filename(w, f) for w in _WHICH for f in _FORMATS), MODEL_CARD, ENVIRONMENT)


def _folder(job_id: str) -> Path:
    return get_settings().artifact_dir / checkpoint_folder(job_id)


def _checkpoints(folder: Path) -> list[Path]:
    """The folder's checkpoints, oldest first (by attempt, then step)."""
    found = [(match, path) for path in folder.iterdir() if (match := _CHECKPOINT.fullmatch(path.name))]
    found.sort(key=lambda item: (int(item[0].group(1)), int(item[0].group(2))))
    return [path for _, path in found]


def release_checkpoints(job_id: str, *, keep_newest: bool) -> None:
    """Delete an ended job's checkpoints (and half-written ones), all but the newest when `keep_newest`."""
    folder = _folder(job_id)
    if not folder.is_dir():
        return
    checkpoints = _checkpoints(folder)
    kept = set(checkpoints[-1:]) if keep_newest else set()
    for path in folder.iterdir():
        if path not in kept and (path in checkpoints or path.name.endswith(".pt.tmp")):
            path.unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()


def held_bytes(job_id: str) -> int:
    """The bytes a job holds in the store: its model files and any checkpoints left."""
    store = get_store()
    total = sum(store.size(model_key(job_id, name)) for name in MODEL_FILES)
    folder = _folder(job_id)
    if folder.is_dir():
        total += sum(path.stat().st_size for path in _checkpoints(folder))
    return total


def job_ended(job_id: str) -> None:
    """Once a job has ended (any way): its checkpoints go unless kept, and its row shows the bytes it still holds."""
    try:
        release_checkpoints(job_id, keep_newest=get_settings().keep_checkpoints)
        with session_scope() as session:
            repository.set_bytes_held(session, job_id=job_id, bytes_held=held_bytes(job_id))
    except Exception:  # the job has ended either way; leftover files cost disk, not correctness
        log.exception("job %s: releasing its checkpoints failed", job_id)
