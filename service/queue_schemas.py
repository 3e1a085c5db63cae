"""Response shapes of the queue routes: GET /queue, GET /pools, GET /workers."""

from datetime import datetime

from pydantic import BaseModel, Field

from core.queue_view import PoolQueue
from core.repository import WorkerRow
from core.spec import PRIORITY_NAME, Priority


class QueuedJob(BaseModel):
    """A queued job in its place in its pool's run order."""

    id: str
    name: str | None = Field(description="The job's name (null for another user's job).")
    owner: str | None = Field(description="The owner's user name (null for another user's job, or without auth).")
    pool: str
    position: int = Field(description="1 runs next; jobs already sent to a worker come first.")
    priority: Priority = Field(description="The priority asked for.")
    effective_priority: Priority = Field(description="The priority after ageing: what the order uses.")
    usage_seconds: float = Field(description="The owner's decayed worker-seconds (fair share: least goes first).")
    sent: bool = Field(description="Sent to the pool's workers; waiting for one to start it.")
    queued_at: datetime = Field(description="When it last entered the queue.")
    reason: str = Field(description='Why it waits, e.g. "pool gpu busy: 4 of 4 slots".')


class QueueOut(BaseModel):
    """Queued jobs in the order they will run, pool by pool."""

    items: list[QueuedJob]


class PoolOut(BaseModel):
    """A pool: its slots (live workers), running jobs, jobs sent and not yet started, and queued jobs."""

    name: str
    slots: int = Field(description="Live workers in the pool: one job each.")
    busy: int = Field(description="Slots held by running jobs or jobs sent to a worker.")
    running: int
    queued: int = Field(description="Queued jobs, sent or waiting.")
    workers_registered: int = Field(description="Workers that ever joined the pool, live or not.")


class PoolList(BaseModel):
    """Every pool that has workers or active jobs."""

    items: list[PoolOut]


class WorkerOut(BaseModel):
    """A registered worker."""

    id: str
    host: str
    pool: str
    device: str = Field(description='"cpu", or the CUDA device\'s name.')
    gpu_memory_bytes: int | None
    gpu_utilization: float | None = Field(description="The GPU busy share (0 to 1) at the last heartbeat; null on CPU.")
    gpu_memory_used_bytes: int | None = Field(description="GPU memory in use at the last heartbeat; null on CPU.")
    running_job_id: str | None
    live: bool = Field(description="Seen within GRADYARD_WORKER_TIMEOUT_SECONDS and not stopped.")
    started_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, row: WorkerRow) -> "WorkerOut":
        """The public view of a worker row."""
        w = row.worker
        return cls(
            id=w.id,
            host=w.host,
            pool=w.pool,
            device=w.device,
            gpu_memory_bytes=w.gpu_memory_bytes,
            gpu_utilization=w.gpu_utilization,
            gpu_memory_used_bytes=w.gpu_memory_used_bytes,
            running_job_id=row.running_job_id,
            live=row.live,
            started_at=w.started_at,
            last_seen_at=w.last_seen_at,
        )


class WorkerList(BaseModel):
    """Every registered worker, by pool and id."""

    items: list[WorkerOut]


class PriorityPatch(BaseModel):
    """A change to a queued job: its priority."""

    model_config = {"extra": "forbid"}

    priority: Priority


def priority_name(rank: int) -> Priority:
    """A stored priority rank's name."""
    return PRIORITY_NAME[max(0, min(2, rank))]


def queued_items(queues: list[PoolQueue], *, names: dict[str, tuple[str, str | None]], viewer: str | None) -> QueueOut:
    """The queue's items; another user's job shows no name or owner (`viewer` None: an admin sees all)."""
    items = []
    for queue in queues:
        for placed in queue.jobs:
            job = placed.job
            name, owner = names.get(job.id, (None, None))
            mine = viewer is None or job.owner_id == viewer
            items.append(
                QueuedJob(
                    id=job.id,
                    name=name if mine else None,
                    owner=owner if mine else None,
                    pool=queue.load.pool,
                    position=placed.position,
                    priority=priority_name(job.priority),
                    effective_priority=priority_name(placed.effective_priority),
                    usage_seconds=round(placed.usage, 3),
                    sent=job.dispatched_at is not None,
                    queued_at=job.enqueued_at,
                    reason=placed.reason,
                )
            )
    return QueueOut(items=items)
