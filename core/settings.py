"""Service settings, read from `GRADYARD_*` environment variables."""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


def embedded_redis_dir(port: int) -> Path:
    """Where `gradyard up` on this API port keeps its embedded Redis (socket and log): one per instance."""
    return VAR_DIR / f"redis-{port}"


class Settings(BaseSettings):
    """Everything a gradyard process can be told from its environment."""

    model_config = SettingsConfigDict(env_prefix="GRADYARD_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///./{VAR_DIR}/gradyard.db", description="SQLAlchemy database URL.")
    broker_url: str = Field(
        default="",
        description="Celery broker URL; defaults to the embedded Redis that `gradyard up` on `port` starts.",
    )
    data_dir: Path = Field(default=VAR_DIR / "data", description="Where datasets read from disk live.")
    download_datasets: bool = Field(
        default=False, description="Let workers download torchvision datasets missing from data_dir (needs internet)."
    )
    artifact_dir: Path = Field(default=VAR_DIR / "artifacts", description="Where checkpoints and artifacts go.")
    worker_state_dir: Path = Field(
        default=VAR_DIR / "worker",
        description="Where each worker on this host notes the job it runs (local to the host, never shared).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text for people; json: one JSON object per line, with job_id, attempt, worker."
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    request_read_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Time a request's headers and body have to arrive; then it is closed."
    )
    max_job_seconds: int = Field(
        default=24 * 3600, ge=60, description="Longest a job may run; the broker's visibility timeout sits above it."
    )
    flush_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often a worker writes buffered points and reads the cancel flag."
    )
    stream_poll_seconds: float = Field(
        default=0.25, gt=0, le=60, description="How often a live stream (GET /jobs/{id}/events) looks for news."
    )
    queue: str = Field(default="training", description="Celery queue that carries training jobs.")
    heartbeat_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A running job whose heartbeat is older than this lost its worker."
    )
    reconcile_interval_seconds: float = Field(default=10.0, gt=0, description="How often each worker reconciles.")
    queued_grace_seconds: float = Field(
        default=30.0, gt=0, description="A job queued this long with no message in the broker is sent again."
    )
    checkpoint_seconds: float = Field(
        default=10.0, ge=0, description="Least time between two end-of-epoch checkpoints (0: every epoch)."
    )
    # Pools and the queue decided in SQL (core.dispatch).
    worker_pool: str = Field(
        default="default", pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="The pool a worker joins."
    )
    default_pool: str = Field(
        default="default",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="The pool a submitted job joins when its spec names none (compose: gpu).",
    )
    worker_name: str = Field(
        default="",
        max_length=150,
        description="A worker's identity; default: HOST-POOL-SLOT (host name, pool, slot number on the host).",
    )
    worker_beat_seconds: float = Field(default=5.0, gt=0, le=600, description="How often a worker says it lives.")
    worker_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A worker not seen for this long holds no slot in its pool."
    )
    dispatch_interval_seconds: float = Field(
        default=2.0, gt=0, le=600, description="How often each worker runs the dispatcher besides its wake-ups."
    )
    high_priority: Literal["admins", "anyone"] = Field(
        default="admins", description="Who may submit or raise a job to priority high."
    )
    ageing_minutes: float = Field(
        default=30.0, gt=0, description="A queued job gains one priority level per this many minutes waiting."
    )
    fair_share_half_life_hours: float = Field(
        default=24.0, gt=0, description="Half-life of the GPU-seconds a user's fair share counts."
    )
    preempt: bool = Field(
        default=False, description="Let a high job that finds its pool full make the lowest-priority job hand back."
    )
    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long the dispatcher's and a sweep controller's lease lasts; a dead holder's lapses after it.",
    )
    failpoints: str = Field(
        default="",
        description="Chaos tests only: comma-separated points (core.failpoints) where the process kills itself.",
    )
    preempt_min_seconds: float = Field(
        default=300.0, ge=0, description="Least time a job runs before it may be preempted."
    )
    visibility_timeout_seconds: int | None = Field(
        default=None, ge=1, description="Broker visibility timeout; default: an hour above max_job_seconds."
    )

    auth: Literal["on", "off"] = Field(
        default="on", description="'off' lets anyone who reaches the API in; accepted only on a loopback address."
    )
    max_active_jobs_per_user: int = Field(default=4, ge=1, description="Queued plus running jobs one user may have.")
    max_epochs: int = Field(default=100_000, ge=1, description="Most epochs a job may ask for.")
    max_batch_size: int = Field(default=65_536, ge=1, description="Largest batch a job may ask for.")
    max_samples: int = Field(default=1_000_000, ge=20, description="Largest generated dataset a job may ask for.")
    max_model_parameters: int = Field(default=50_000_000, ge=1, description="Largest model a job may ask for.")
    max_job_memory_gb: float = Field(
        default=8.0,
        gt=0,
        le=1e6,
        description="Most memory a job may need (data, parameters with optimizer state, one batch's activations).",
    )
    max_points_per_job: int = Field(default=1_000_000, ge=1, description="Most metric points a job may record.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body (413 above it).")
    max_json_depth: int = Field(default=32, ge=4, description="Deepest JSON nesting a request body may have.")
    rate_limit_per_minute: int = Field(default=600, ge=1, description="Requests one key may make per minute (429).")
    auth_failures_per_minute: int = Field(
        default=30, ge=1, description="Requests with an unknown key one client address may make per minute (429)."
    )
    max_streams_per_user: int = Field(
        default=16, ge=1, description="Live streams (GET /jobs/{id}/events) one user may hold open per API process."
    )
    # Uploaded datasets (POST /datasets): every size a client controls is bounded before it is allocated.
    max_upload_bytes: int = Field(default=1 << 30, ge=1024, description="Largest uploaded file (413 above it).")
    max_dataset_bytes_per_user: int = Field(
        default=10 << 30, ge=1024, description="Bytes of uploaded files one user may keep."
    )
    max_datasets_per_user: int = Field(default=100, ge=1, description="Uploaded datasets one user may keep.")
    max_dataset_columns: int = Field(default=1000, ge=2, description="Most columns an uploaded table may have.")
    max_dataset_rows: int = Field(default=10_000_000, ge=2, description="Most rows an uploaded table may have.")
    max_dataset_images: int = Field(default=100_000, ge=2, description="Most images an uploaded archive may hold.")
    max_image_pixels: int = Field(default=4_194_304, ge=1, description="Most pixels (width x height) of one image.")
    max_unpacked_bytes: int = Field(
        default=4 << 30, ge=1024, description="Most bytes an archive (or an NPZ) may unpack to, checked before."
    )
    max_compression_ratio: int = Field(
        default=200, ge=2, description="Highest unpacked/packed ratio of an archive entry (zip bombs are refused)."
    )
    plot_concurrency: int = Field(
        default=2, ge=1, le=64, description="Plot images drawn at a time per API process (429 above it)."
    )
    plot_concurrency_per_user: int = Field(
        default=1, ge=1, le=64, description="Plot images one user may have drawn at a time per API process (429)."
    )
    plot_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="Memory for cached plot images of ended jobs, per API process."
    )
    max_plot_pixels: int = Field(
        default=4_000_000, ge=30_000, description="Largest plot image, width times height in pixels (422 above it)."
    )
    # Trained models (GET /jobs/{id}/model, POST /jobs/{id}/predict).
    keep_checkpoints: bool = Field(
        default=False, description="Keep a job's last checkpoint when it ends (by default only its model files stay)."
    )
    max_predict_rows: int = Field(default=10_000, ge=1, description="Most rows one prediction request may hold.")
    max_predict_bytes: int = Field(
        default=16 << 20, ge=1024, description="Largest prediction request body (413 above it)."
    )
    predict_cache_bytes: int = Field(
        default=512 << 20, ge=0, description="Memory for loaded ONNX models per API process (least recently used go)."
    )

    @model_validator(mode="after")
    def _embedded_broker(self) -> "Settings":
        # Named by the API port, so two instances from one checkout (each with its own PORT) never share a socket.
        if not self.broker_url:
            socket_path = (embedded_redis_dir(self.port) / "redis.sock").resolve()
            self.broker_url = f"redis+socket://{socket_path}"
        return self

    @property
    def lease(self) -> timedelta:
        """How long a lease taken now lasts (the dispatcher's, a sweep controller's): longer than any pass."""
        return timedelta(seconds=self.lease_seconds)

    @property
    def broker_visibility_timeout(self) -> int:
        """Seconds before the broker hands an unacknowledged message to another worker."""
        return self.visibility_timeout_seconds or self.max_job_seconds + 3600


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
