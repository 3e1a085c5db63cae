"""Workers as they register and heartbeat: one row per identity, its pool, device and last sign of life."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.repository.upserts import insert_for
from core.tables import Job, Worker
from core.timeutil import utcnow


@dataclass(frozen=True)
class Presence:
    """What a worker says about itself when it starts."""

    id: str
    host: str
    pool: str
    device: str
    gpu_memory_bytes: int | None


def register_worker(session: Session, *, worker: Presence) -> None:
    """Insert or refresh the worker's row (a restart under the same identity takes its row over); committed."""
    now = utcnow()
    values = {
        "host": worker.host,
        "pool": worker.pool,
        "device": worker.device,
        "gpu_memory_bytes": worker.gpu_memory_bytes,
        "started_at": now,
        "last_seen_at": now,
        "left_at": None,
    }
    insert = insert_for(session, Worker).values(id=worker.id, **values)
    session.execute(insert.on_conflict_do_update(index_elements=[Worker.id], set_=values))
    session.commit()


@dataclass(frozen=True)
class GpuReading:
    """A GPU worker's device at one heartbeat: its busy share (0 to 1) and the memory in use."""

    utilization: float
    memory_used_bytes: int


def beat(session: Session, *, worker_id: str, gpu: GpuReading | None = None) -> None:
    """Note that the worker lives, with its GPU's reading when it has one; committed."""
    values: dict[str, object] = {"last_seen_at": utcnow(), "left_at": None}
    if gpu is not None:
        values |= {"gpu_utilization": gpu.utilization, "gpu_memory_used_bytes": gpu.memory_used_bytes}
    session.execute(update(Worker).where(Worker.id == worker_id).values(**values))
    session.commit()


def leave(session: Session, *, worker_id: str) -> None:
    """Note a clean stop: the worker holds no slot from now on; committed."""
    session.execute(update(Worker).where(Worker.id == worker_id).values(left_at=utcnow()))
    session.commit()


@dataclass(frozen=True)
class WorkerRow:
    """A worker as GET /workers shows it."""

    worker: Worker
    running_job_id: str | None
    live: bool


def list_workers(session: Session, *, alive_after: datetime, pool: str | None = None) -> list[WorkerRow]:
    """Every registered worker (of one pool, when given) with the job it runs, by pool and id."""
    query = select(Worker).order_by(Worker.pool, Worker.id)
    if pool is not None:
        query = query.where(Worker.pool == pool)
    workers: Sequence[Worker] = session.scalars(query).all()
    on_jobs = select(Job.worker_id, Job.id).where(Job.status == "running", Job.worker_id.is_not(None))
    running = {str(worker_id): str(job_id) for worker_id, job_id in session.execute(on_jobs)}
    return [WorkerRow(w, running.get(w.id), w.left_at is None and w.last_seen_at >= alive_after) for w in workers]


def pool_devices(session: Session, *, pool: str) -> list[str]:
    """The devices of the workers that ever joined the pool ("cpu" or a CUDA device's name)."""
    return list(session.scalars(select(Worker.device).where(Worker.pool == pool)))
