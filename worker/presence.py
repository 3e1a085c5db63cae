"""A worker's row in SQL: it registers under its identity with its pool and device, says it lives on each tick of
the reconciler's thread, and says so when it stops cleanly, so the dispatcher counts its slot only while it lives."""

import functools
import logging
import socket
from collections.abc import Callable
from typing import Any

import pynvml
import torch
from sqlalchemy.exc import OperationalError

from core.db import session_scope
from core.repository import workers
from core.settings import Settings

log = logging.getLogger(__name__)


def worker_identity(settings: Settings, slot_number: int | None) -> str:
    """The configured name, else this host's name, the worker's pool and its slot number (stable across restarts)."""
    if settings.worker_name:
        return settings.worker_name
    # The pool is part of it: containers on the host's network share its host name, and two workers of different
    # pools there (compose's gpu and cpu workers, each with its own state volume) both hold slot 0.
    return f"{socket.gethostname()}-{settings.worker_pool}-{slot_number if slot_number is not None else 'x'}"


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


def _tell(note: Callable[..., None], worker_id: str, failed: str, **extra: object) -> None:
    """Write one note about this worker; a database outage is logged (the worker just looks silent meanwhile)."""
    try:
        with session_scope() as session:
            note(session, worker_id=worker_id, **extra)
    except OperationalError as exc:
        log.warning("worker %s: cannot %s: %s", worker_id, failed, exc.orig)


@functools.cache
def _nvml_device() -> Any:
    """NVML's handle of this worker's CUDA device, or None on a CPU worker or where NVML cannot start (a driver
    without it): the heartbeat then carries no reading, and the metrics have none for this worker."""
    if not torch.cuda.is_available():
        return None
    try:
        pynvml.nvmlInit()
        # CUDA_VISIBLE_DEVICES renumbers devices for CUDA, not for NVML: find the device by its PCI bus id.
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        where = (props.pci_domain_id, props.pci_bus_id, props.pci_device_id)  # type: ignore[attr-defined]
        bus_id = "{:08x}:{:02x}:{:02x}.0".format(*where)
        return pynvml.nvmlDeviceGetHandleByPciBusId(bus_id)
    except pynvml.NVMLError as exc:
        log.warning("no GPU readings in the heartbeat: NVML: %s", exc)
        return None


def gpu_reading() -> workers.GpuReading | None:
    """This worker's GPU now (utilisation over NVML's last sample period, memory in use), or None without one."""
    handle = _nvml_device()
    if handle is None:
        return None
    try:
        busy = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu  # percent
        used = pynvml.nvmlDeviceGetMemoryInfo(handle).used
    except pynvml.NVMLError as exc:
        log.warning("GPU reading failed: NVML: %s", exc)
        return None
    return workers.GpuReading(utilization=float(busy) / 100.0, memory_used_bytes=int(used))


def beat(worker_id: str) -> None:
    """Say this worker lives, with its GPU's reading on a GPU worker."""
    _tell(workers.beat, worker_id, "heartbeat", gpu=gpu_reading())


def leave(worker_id: str) -> None:
    """Say this worker stops: its slot goes at once."""
    _tell(workers.leave, worker_id, "note its stop")
