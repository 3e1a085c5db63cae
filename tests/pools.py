"""Simulated workers: rows in the worker table as live workers register them, with no process behind them. A test
that checks what the API sends gives the pool slots this way; the dispatcher cannot tell them from real ones."""

from core.db import session_scope
from core.repository import Presence, register_worker

SLOTS = 64  # more than any service test submits: every submit is sent at once, as before pools


def simulate_workers(count: int = SLOTS, *, pool: str = "default", device: str = "cpu") -> list[str]:
    """Register `count` live workers in the pool; their ids."""
    ids = [f"simulated-{pool}-{n}" for n in range(count)]
    with session_scope() as session:
        for worker_id in ids:
            register_worker(session, worker=Presence(worker_id, "test-host", pool, device, None))
    return ids
