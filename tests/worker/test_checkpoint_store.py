"""A checkpoint is named in the job row together with the points it covers, never before them (SQLite, PostgreSQL)."""

from pathlib import Path

from core import repository
from core.db import session_scope
from core.metrics import Point
from worker.checkpoint import CheckpointStore
from worker.recorder import SqlRecorder


def test_a_checkpoint_is_recorded_after_the_points_it_covers(configured: str, tmp_path: Path) -> None:
    with session_scope() as session:
        job_id = repository.create_job(
            session, name="j", spec={"epochs": 3}, idempotency_key=None, request_hash=None
        ).id
    with session_scope() as session:
        assert repository.claim_job(session, job_id=job_id) == 1
    # The writer thread writes once at start, then not for an hour: only the checkpoint's write can send the points.
    recorder = SqlRecorder(job_id=job_id, attempt=1, flush_seconds=3600).start()
    store = CheckpointStore(
        artifact_dir=tmp_path, job_id=job_id, attempt=1, every_seconds=0, record=recorder.record_checkpoint
    )
    recorder.record([Point("train_loss", 90, 1, 0.5, 1.0), Point("lr", 90, 1, 0.01, 1.0)], epoch=1, step=90)
    store.save({"step": 90, "epoch": 1})
    with session_scope() as session:
        job = repository.get_job(session, job_id=job_id)
        history = repository.read_metrics(session, job_id=job_id, names=None, after_step=0)
    recorder.close()
    assert (job.checkpoint_step, job.checkpoint_path) == (90, "jobs/" + job_id + "/checkpoint-a1-s90.pt")
    assert {name: series.step for name, series in history.items()} == {"train_loss": [90], "lr": [90]}
    assert (tmp_path / job.checkpoint_path).is_file()
