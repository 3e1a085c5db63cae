"""A worker's row in SQL: it registers under its identity with its pool and device, says it lives on each tick of
the reconciler's thread, and says so when it stops cleanly, so the dispatcher counts its slot only while it lives."""

import logging
import socket
from collections.abc import Callable

import torch
from sqlalchemy.exc import OperationalError

from core.db import session_scope
from core.repository import workers
from core.settings import Settings

log = logging.getLogger(__name__)


def worker_identity(settings: Settings, slot_number: int | None) -> str:
    """The configured name, else this host's name and the worker's slot number (stable across restarts)."""
    if settings.worker_name:
        return settings.worker_name
    return f"{socket.gethostname()}-{slot_number if slot_number is not None else 'x'}"


def this_device() -> tuple[str, int | None]:
    """The device this worker trains on: the CUDA device's name and memory, or "cpu"."""
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        return str(props.name), int(props.total_memory)
    return "cpu", None


def register(settings: Settings, worker_id: str) -> None:
    """Insert or take over this worker's row in its pool."""
    device, memory = this_device()
    presence = workers.Presence(worker_id, socket.gethostname(), settings.worker_pool, device, memory)
    with session_scope() as session:
        workers.register_worker(session, worker=presence)
    log.info("worker %s joined pool %s (%s)", worker_id, settings.worker_pool, device)


def _tell(note: Callable[..., None], worker_id: str, failed: str) -> None:
    """Write one note about this worker; a database outage is logged (the worker just looks silent meanwhile)."""
    try:
        with session_scope() as session:
            note(session, worker_id=worker_id)
    except OperationalError as exc:
        log.warning("worker %s: cannot %s: %s", worker_id, failed, exc.orig)


def beat(worker_id: str) -> None:
    """Say this worker lives."""
    _tell(workers.beat, worker_id, "heartbeat")


def leave(worker_id: str) -> None:
    """Say this worker stops: its slot goes at once."""
    _tell(workers.leave, worker_id, "note its stop")
