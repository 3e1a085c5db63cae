"""What a worker's previous life was doing when it died, so its restarted self can end that at once.

Each worker process holds a slot: a small file on this host, locked (flock) for as long as the process lives, which
names the job it is running with the host's count of kernel OOM kills when the job started. A worker that starts
takes the first slot nobody holds. A job named there belongs to a process that died without ending it (killed, or
the machine went down); a lock is released by the kernel however its holder dies, so a slot is never taken from a
live worker. If the kernel's OOM killer has killed since that job started, the job needed more memory than the
worker has: it fails as `out_of_memory` rather than being retried (each retry would be killed again, holding the
worker each time). Otherwise it goes back to the queue at once, counted as a restart, instead of waiting out the
heartbeat timeout for the reconciler. A job that had succeeded keeps the slot until its model files are written: if
its model is still `exporting`, the export died with the process, and the model is marked unavailable.
"""

import fcntl
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from celery import Celery

from core import repository
from core.db import session_scope
from core.dispatch import dispatch_quietly
from core.settings import get_settings
from worker.retention import job_ended

log = logging.getLogger(__name__)
MAX_SLOTS = 256  # workers of one host sharing one state directory
LOST_EXPORT = "the worker was lost while it wrote the model files: rerun the job to get a model"


def _memory_cgroup_files() -> list[Path]:
    """This process's cgroup files that count OOM kills (cgroup v2, then v1), most specific first."""
    files = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: the unified hierarchy
            files.append(Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.events")
        elif "memory" in controllers.split(","):
            files.append(Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.oom_control")
    return files


def _oom_kill_field(path: Path) -> int | None:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except OSError:
        return None
    return None


def oom_kill_counts() -> dict[str, int]:
    """The kernel's counts of OOM kills that would include this process's: its memory cgroups' and the host's."""
    try:
        sources = [*_memory_cgroup_files(), Path("/proc/vmstat")]
    except (OSError, ValueError):
        sources = [Path("/proc/vmstat")]
    return {str(path): count for path in sources if (count := _oom_kill_field(path)) is not None}


def killed_for_memory(before: dict[str, Any]) -> bool:
    """Whether any count of OOM kills grew since `before` was read."""
    now = oom_kill_counts()
    return any(now.get(path, 0) > int(count) for path, count in before.items())


@dataclass
class Slot:
    """This process's slot file, locked while it lives."""

    path: Path
    handle: IO[str]
    worker_id: str | None = None  # the worker's identity (worker.presence): the same slot, the same identity

    @property
    def number(self) -> int:
        """The slot's number on this host."""
        return int(self.path.stem.rsplit("-", 1)[-1])

    def running(self, job_id: str, attempt: int) -> None:
        """Note the job this process now runs (with the OOM kill counts before it starts)."""
        self._write({"job_id": job_id, "attempt": attempt, "oom_kills": oom_kill_counts()})

    def idle(self) -> None:
        """Note that this process runs no job."""
        self._write({})

    def _write(self, state: dict[str, Any]) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps(state))
        self.handle.flush()
        os.fsync(self.handle.fileno())


def take_slot(state_dir: Path) -> tuple[Slot, dict[str, Any]]:
    """Lock the first free slot; with it, what the previous holder of that slot left there."""
    state_dir.mkdir(parents=True, exist_ok=True)
    for number in range(MAX_SLOTS):
        path = state_dir / f"worker-slot-{number}.json"
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live worker holds it
            handle.close()
            continue
        handle.seek(0)
        text = handle.read()
        left: dict[str, Any] = json.loads(text) if text.strip() else {}
        slot = Slot(path, handle)
        slot.idle()
        return slot, left
    raise RuntimeError(f"all {MAX_SLOTS} worker slots in {state_dir} are held")


def end_previous_life(app: Celery, left: dict[str, Any]) -> str | None:
    """End or requeue the job a dead process left in this slot; what became of it, or None when nothing was left."""
    if "job_id" not in left:
        return None
    job_id, attempt = str(left["job_id"]), int(left["attempt"])
    with session_scope() as session:
        job = repository.running_attempt(session, job_id=job_id, attempt=attempt)
        if job is None:  # it ended (perhaps while its model was being exported), or the reconciler took it back
            if repository.abandon_export(session, job_id=job_id, attempt=attempt, detail=LOST_EXPORT):
                log.warning("job %s: its worker died while exporting the model; the model is unavailable", job_id)
            return None
        if killed_for_memory(left.get("oom_kills", {})):
            repository.finish_job(
                session,
                job_id=job_id,
                attempt=attempt,
                status="failed",
                reason="out_of_memory",
                error="the kernel killed the worker for lack of memory while it ran this job: use fewer samples or "
                "features, a smaller model or a smaller batch_size, or raise the worker's memory",
            )
            status: str | None = "failed"
        else:
            status = repository.requeue_lost(session, job=job, cutoff=None)
    log.warning("job %s was held by a worker that died (attempt %s): now %s", job_id, attempt, status)
    if status == "failed":
        job_ended(job_id)
    if status == "queued":  # after the commit above: the dispatcher sends it when its pool has a free slot
        dispatch_quietly(celery=app, settings=get_settings())
    return status
