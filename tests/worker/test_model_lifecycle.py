"""A job's model state and the bytes it holds, through the real runner and database (SQLite and PostgreSQL): the
model files come after the job is marked succeeded, checkpoints go when a job ends (or the last one stays, when
kept), and an export whose worker died ends `unavailable` with the reason."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from core import repository
from core.db import session_scope
from core.model_card import ModelCard
from core.spec import JobSpec
from core.store import get_store, model_key
from core.tables import Job
from core.timeutil import utcnow
from tests.conftest import clear_cached_settings
from worker.previous_life import LOST_EXPORT, end_previous_life
from worker.reconciler import Reconciler
from worker.retention import MODEL_FILES
from worker.runner import run_job

SPEC = {
    "dataset": {"name": "iris", "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [8]},
    "loss": "cross_entropy",
    "optimizer": "adam",
    "epochs": 3,
    "early_stopping": {"metric": "val_loss", "patience": 5},
}


@pytest.fixture
def artifacts(configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The store in a directory of this test's own; a checkpoint after every epoch."""
    monkeypatch.setenv("GRADYARD_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("GRADYARD_CHECKPOINT_SECONDS", "0")
    clear_cached_settings()
    get_store.cache_clear()
    yield tmp_path / "artifacts"
    get_store.cache_clear()


def submitted(spec: dict[str, Any]) -> str:
    with session_scope() as session:
        normal = JobSpec.model_validate(spec).model_dump(mode="json")
        job = repository.create_job(session, name="j", spec=normal, idempotency_key=None, request_hash=None)
        return job.id


def run(job_id: str) -> Job:
    assert run_job(job_id, shutdown=threading.Event(), enqueue=lambda _: None) is not None
    with session_scope() as session:
        job = repository.get_job(session, job_id=job_id)
        session.expunge(job)
        return job


def checkpoints(artifacts: Path, job_id: str) -> list[str]:
    folder = artifacts / "jobs" / job_id
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def model_bytes(job_id: str) -> int:
    return sum(get_store().size(model_key(job_id, name)) for name in MODEL_FILES)


def test_a_succeeded_job_keeps_its_model_files_and_no_checkpoints(artifacts: Path) -> None:
    job = run(submitted(SPEC))
    assert (job.status, job.model_status, job.model_detail) == ("succeeded", "ready", None)
    assert checkpoints(artifacts, job.id) == []  # three were written, one per epoch
    names = sorted(path.name for path in (artifacts / "models" / job.id).iterdir())
    assert names == sorted(["best.onnx", "best.safetensors", "environment.json", "final.onnx", "final.safetensors",
                            "model.json"])  # fmt: skip
    card = ModelCard.model_validate_json((artifacts / "models" / job.id / "model.json").read_bytes())
    assert card.job_id == job.id and card.weights["final"].epoch == 3
    assert job.bytes_held == model_bytes(job.id) > 0


def test_kept_checkpoints_keep_the_last_one_and_count_in_the_bytes_held(
    artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADYARD_KEEP_CHECKPOINTS", "true")
    clear_cached_settings()
    job = run(submitted(SPEC))
    assert checkpoints(artifacts, job.id) == [f"checkpoint-a1-s{job.step}.pt"]
    kept = (artifacts / "jobs" / job.id / f"checkpoint-a1-s{job.step}.pt").stat().st_size
    assert job.bytes_held == model_bytes(job.id) + kept


def test_a_failed_job_leaves_no_checkpoint_and_no_model(artifacts: Path) -> None:
    # A loss a million times its first value fails the job as diverged, after checkpoints were written.
    spec = {
        "dataset": {"name": "thermometer", "val_fraction": 0.0},
        "model": "linear",
        "loss": "mse",
        "optimizer": {"name": "sgd", "lr": 1.0},
        "epochs": 30,
        "batch_size": 4,  # three steps an epoch: checkpoints after the first epochs, before it blows up
    }
    job = run(submitted(spec))
    assert (job.status, job.reason, job.model_status, job.bytes_held) == ("failed", "diverged", None, 0)
    assert job.checkpoint_step is not None and job.checkpoint_step > 0  # one was written, and is gone
    assert checkpoints(artifacts, job.id) == []
    assert not (artifacts / "models" / job.id).exists()


def test_an_export_its_worker_died_in_ends_unavailable(artifacts: Path) -> None:
    job = run(submitted(SPEC))
    exporting = update(Job).where(Job.id == job.id).values(model_status="exporting")
    with session_scope() as session:  # as if the worker had died while writing the files
        session.execute(exporting)
    # The worker's next life finds the job in its slot: the export died with it.
    assert end_previous_life(None, {"job_id": job.id, "attempt": job.attempt}) is None  # type: ignore[arg-type]
    with session_scope() as session:
        row = repository.get_job(session, job_id=job.id)
        assert (row.status, row.model_status, row.model_detail) == ("succeeded", "unavailable", LOST_EXPORT)
        session.execute(exporting)
    # A worker that never comes back: the reconciler gives up on exports older than any export takes.
    reconciler = Reconciler(None, None)  # type: ignore[arg-type]
    assert reconciler.abandon_lost_exports() == []  # it ended moments ago: still within the bound
    assert reconciler.abandon_lost_exports(older_than=0.0) == [job.id]
    with session_scope() as session:
        row = repository.get_job(session, job_id=job.id)
        assert (row.model_status, row.model_detail) == ("unavailable", LOST_EXPORT)
        assert row.finished_at is not None and utcnow() - row.finished_at < timedelta(minutes=5)
