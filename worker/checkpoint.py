"""Checkpoints: written atomically (temp file, fsync, rename), recorded in the job row by a fenced write, loaded with
weights_only=True from the path that row names (a path the service wrote, never one from a spec)."""

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from sqlalchemy.exc import OperationalError

from core import repository
from core.db import session_scope

log = logging.getLogger(__name__)


def checkpoint_folder(job_id: str) -> Path:
    """Where a job's checkpoints are, relative to the artifact directory."""
    return Path("jobs") / job_id


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(state: dict[str, Any], path: Path) -> None:
    """Write a checkpoint so that a crash at any moment leaves either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def load_checkpoint(path: Path, *, device: torch.device) -> dict[str, Any]:
    """A checkpoint's state, tensors only (no pickled code), mapped to the device."""
    state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    return state


class CheckpointStore:
    """Saves one attempt's checkpoints under the artifact directory and points the job row at the newest one.

    File names carry the attempt, so a worker that lost its job (and whose row write is refused) never overwrites
    the checkpoint the current attempt depends on.
    """

    def __init__(
        self,
        *,
        artifact_dir: Path,
        job_id: str,
        attempt: int,
        every_seconds: float,
        write_points: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.artifact_dir = artifact_dir
        self.job_id = job_id
        self.attempt = attempt
        self.every_seconds = every_seconds
        self._write_points = write_points
        self._clock = clock
        self._last_saved = clock()
        self._current: Path | None = None

    def due(self) -> bool:
        """Whether an end-of-epoch checkpoint is due."""
        return self._clock() - self._last_saved >= self.every_seconds

    def save(self, state: dict[str, Any]) -> None:
        """Write the state, record it in the job row (fenced), then drop this attempt's previous file."""
        relative = checkpoint_folder(self.job_id) / f"checkpoint-a{self.attempt}-s{state['step']}.pt"
        written = self.artifact_dir / relative
        write_atomically(state, written)
        try:
            # The points up to this step must be in SQL before the row names the checkpoint: a resume from it keeps
            # only the points at or before its step, so a point still buffered here would be lost for good.
            self._write_points()
            with session_scope() as session:
                repository.record_checkpoint(
                    session, job_id=self.job_id, attempt=self.attempt, path=str(relative), step=int(state["step"])
                )
        except OperationalError as exc:
            # The database is down: training goes on, and the row keeps naming the previous checkpoint.
            log.warning("job %s: checkpoint at step %s not recorded: %s", self.job_id, state["step"], exc.orig)
            if written != self._current:
                written.unlink(missing_ok=True)
            return
        previous, self._current = self._current, written
        if previous is not None and previous != self._current:
            previous.unlink(missing_ok=True)
        self._last_saved = self._clock()
