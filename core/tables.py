"""ORM models: the job row (the single truth of a job's state), its state log and its metric history."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.states import EndReason, JobStatus, ModelStatus, SweepState
from core.timeutil import UtcDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention, so migrations name things predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AppUser(Base):
    """A person or a script that owns jobs (admin rights belong to each key, not to the user)."""

    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Touched by every submit, so concurrent submits of one user queue behind each other (the quota check is exact).
    last_submit_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored (keys are 256 random bits, so a slow hash adds nothing)."""

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Per key, so a user's script can hold a plain key while their own key manages everyone's jobs.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Job(Base):
    """A training job. Workers change it only through fenced writes that carry their attempt number."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_created_at_id", "created_at", "id"),
        Index("ix_job_status", "status"),
        Index("ix_job_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_job_sweep_id_trial", "sweep_id", "trial", unique=True),
        Index("ix_job_pool_status", "pool", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("app_user.id", ondelete="SET NULL"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[JobStatus] = mapped_column(String(16), default="queued")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Why the job ended or was requeued: diverged, timed_out, worker_lost, out_of_memory, error, shutdown...
    reason: Mapped[EndReason | None] = mapped_column(String(32), default=None)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_path: Mapped[str | None] = mapped_column(String(300), default=None)
    checkpoint_step: Mapped[int | None] = mapped_column(Integer, default=None)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # The model files a succeeded job leaves (core.model_card): their state, and why when unavailable.
    model_status: Mapped[ModelStatus | None] = mapped_column(String(16), default=None)
    model_detail: Mapped[str | None] = mapped_column(Text, default=None)
    # The job this one reruns (POST /jobs/{id}/rerun); kept as a plain id when that job is deleted.
    rerun_of: Mapped[str | None] = mapped_column(String(36), default=None)
    # Bytes of artifacts (checkpoints, model files) the job holds in the store.
    bytes_held: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # A sweep's trial (core.sweeps): its sweep, its number there (unique per sweep: none is numbered twice) and the
    # values sampled for it, by dotted path. None for a job submitted on its own.
    sweep_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("sweep.id", ondelete="SET NULL"), default=None)
    trial: Mapped[int | None] = mapped_column(Integer, default=None)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The queue (core.dispatch): the pool whose workers run it, its priority as a rank (0 low, 1 normal, 2 high) so
    # SQL can order by it, when the dispatcher sent its message (None: waiting in SQL for a free slot), the worker
    # that claimed it, and whether the dispatcher asked it to hand its worker back to a higher-priority job.
    pool: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    preempt_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Worker(Base):
    """A worker process as it registered (one per identity: a restart under the same identity reuses its row),
    heartbeated while it lives; the dispatcher counts a pool's live rows as its slots."""

    __tablename__ = "worker"
    __table_args__ = (Index("ix_worker_pool_last_seen_at", "pool", "last_seen_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pool: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(200))  # "cpu", or the CUDA device's name
    gpu_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The GPU as NVML saw it at the last heartbeat (null on a CPU worker): busy share of the last sample period, 0-1.
    gpu_utilization: Mapped[float | None] = mapped_column(Float, default=None)
    gpu_memory_used_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # a clean stop: no slot at once


class Lease(Base):
    """A named lease (the dispatcher's): one holder at a time, taken by compare-and-set; `wakes` counts the passes
    asked for while it was held, so the holder runs again instead of missing a job committed during its pass."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), default=None)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    wakes: Mapped[int] = mapped_column(Integer, default=0)


class Sweep(Base):
    """A hyperparameter search (core.sweeps): its request, its state, and the lease of the one controller that may
    sample its next trials. Its trials are job rows (Job.sweep_id); the study is rebuilt from them on each pass."""

    __tablename__ = "sweep"
    __table_args__ = (Index("ix_sweep_owner_id_created_at_id", "owner_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("app_user.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[SweepState] = mapped_column(String(16), default="running")
    trials_created: Mapped[int] = mapped_column(Integer, default=0)  # the next trial's number
    best_job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    best_value: Mapped[float | None] = mapped_column(Float, default=None)
    # The controller's lease: taken by compare-and-set, so two controllers never sample at once; a dead one's lease
    # runs out and the next pass carries on from the trials in SQL.
    lease_holder: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    actor: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SweepReport(Base):
    """A trial's objective at the end of one epoch, as the pruner judges it (the first report of an epoch stays: a
    trial resumed after a lost worker re-runs its epochs to the same values)."""

    __tablename__ = "sweep_report"

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: not finite


class JobEvent(Base):
    """One transition in a job's state log: queued, running attempt N, requeued, ended; with its time and reason."""

    __tablename__ = "job_event"
    __table_args__ = (Index("ix_job_event_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("job.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[JobStatus] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    reason: Mapped[EndReason | None] = mapped_column(String(32), default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str | None] = mapped_column(String(100), default=None)  # the user who asked for it (audit)
    # On the claim of a later attempt: the step its history goes back to (its checkpoint's), which a live stream
    # must rewind to. None on every other row.
    step: Mapped[int | None] = mapped_column(Integer, default=None)


class MetricPoint(Base):
    """One point of a series' hot tail, not yet packed into a chunk; the key (job_id, name, step) makes a re-written
    point a no-op. Every step here is past the series' last chunk."""

    __tablename__ = "metric_point"

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    time: Mapped[float] = mapped_column(Float)


class MetricChunk(Base):
    """CHUNK_POINTS consecutive points of one series, packed (see core.chunks), with a rollup of its extremes."""

    __tablename__ = "metric_chunk"

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_step: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_step: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    nonfinite: Mapped[int] = mapped_column(Integer)
    # The small columns come first: SQLite then reads a rollup without walking the blobs' overflow pages.
    rollup: Mapped[bytes] = mapped_column(LargeBinary)
    steps: Mapped[bytes] = mapped_column(LargeBinary)
    epochs: Mapped[bytes] = mapped_column(LargeBinary)
    values: Mapped[bytes] = mapped_column(LargeBinary)
    times: Mapped[bytes] = mapped_column(LargeBinary)


class Dataset(Base):
    """An uploaded dataset: one immutable version, its bytes in the artifact store under its sha256, its schema
    found once at upload."""

    __tablename__ = "dataset"
    __table_args__ = (
        Index("ix_dataset_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_dataset_owner_id_sha256", "owner_id", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("app_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    # Columns, classes, shape and preview as found at upload (see core.datasets.schema.DatasetSchema).
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(100), default=None)  # who uploaded it (audit)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
