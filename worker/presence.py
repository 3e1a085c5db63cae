"""A worker's row in SQL: it registers under its identity with its pool and device, says it lives on each tick of
the reconciler's thread, and says so when it stops cleanly, so the dispatcher counts its slot only while it lives."""

import logging
import socket

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


def beat(worker_id: str) -> None:
    """Say this worker lives (a database outage is logged: the worker just looks silent meanwhile)."""
    try:
        with session_scope() as session:
            workers.beat(session, worker_id=worker_id)
    except OperationalError as exc:
        log.warning("worker %s: cannot heartbeat: %s", worker_id, exc.orig)


def leave(worker_id: str) -> None:
    """Say this worker stops: its slot goes at once."""
    try:
        with session_scope() as session:
            workers.leave(session, worker_id=worker_id)
    except OperationalError as exc:
        log.warning("worker %s: cannot note its stop: %s", worker_id, exc.orig)
