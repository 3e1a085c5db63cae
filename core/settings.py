"""Service settings, read from `GRADYARD_*` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"


class Settings(BaseSettings):
    """Everything a gradyard process can be told from its environment."""

    model_config = SettingsConfigDict(env_prefix="GRADYARD_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///./{VAR_DIR}/gradyard.db", description="SQLAlchemy database URL.")
    broker_url: str = Field(
        default_factory=lambda: f"redis+socket://{EMBEDDED_REDIS_SOCKET.resolve()}",
        description="Celery broker URL; defaults to the embedded Redis that `gradyard up` starts.",
    )
    data_dir: Path = Field(default=VAR_DIR / "data", description="Where datasets read from disk live.")
    download_datasets: bool = Field(
        default=False, description="Let workers download torchvision datasets missing from data_dir (needs internet)."
    )
    artifact_dir: Path = Field(default=VAR_DIR / "artifacts", description="Where checkpoints and artifacts go.")
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    max_job_seconds: int = Field(
        default=24 * 3600, ge=60, description="Longest a job may run; the broker's visibility timeout sits above it."
    )
    flush_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often a worker writes buffered points and reads the cancel flag."
    )
    queue: str = Field(default="training", description="Celery queue that carries training jobs.")


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
