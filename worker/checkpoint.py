"""Checkpoints: written atomically (temp file, fsync, rename), recorded in the job row by a fenced write, loaded with
weights_only=True from the path that row names (a path the service wrote, never one from a spec)."""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


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
        record: Callable[[str, int], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.artifact_dir = artifact_dir
        self.job_id = job_id
        self.attempt = attempt
        self.every_seconds = every_seconds
        self._record = record
        self._clock = clock
        self._last_saved = clock()
        self._current: Path | None = None

    def due(self) -> bool:
        """Whether an end-of-epoch checkpoint is due."""
        return self._clock() - self._last_saved >= self.every_seconds

    def save(self, state: dict[str, Any]) -> None:
        """Write the state, have `record` name it in the job row (fenced), then drop this attempt's previous file."""
        relative = Path("jobs") / self.job_id / f"checkpoint-a{self.attempt}-s{state['step']}.pt"
        written = self.artifact_dir / relative
        write_atomically(state, written)
        if not self._record(str(relative), int(state["step"])):
            # The database is down (or the job moved on): training goes on, the row keeps naming the previous one.
            if written != self._current:
                written.unlink(missing_ok=True)
            return
        previous, self._current = self._current, written
        if previous is not None and previous != self._current:
            previous.unlink(missing_ok=True)
        self._last_saved = self._clock()

    def prune(self, keep: str | None) -> None:
        """Remove the job's checkpoint files but the one named (the job has ended; only its last state is kept)."""
        directory = self.artifact_dir / "jobs" / self.job_id
        for path in directory.glob("*.pt*") if directory.exists() else []:
            if keep is None or path != self.artifact_dir / keep:
                path.unlink(missing_ok=True)
