"""A checkpoint is recorded only after every point up to its step is in SQL (else a resume would leave a gap)."""

from pathlib import Path

import torch

from core import repository
from core.db import session_scope
from core.metrics import Point
from worker.checkpoint import CheckpointStore
from worker.recorder import SqlRecorder


def test_points_reach_sql_before_the_checkpoint_that_covers_them(configured: str, tmp_path: Path) -> None:
    with session_scope() as session:
        job = repository.create_job(session, name="j", spec={"epochs": 3}, idempotency_key=None, request_hash=None)
        assert repository.claim_job(session, job_id=job.id) == 1
    recorder = SqlRecorder(job_id=job.id, attempt=1, flush_seconds=3600)  # its writer thread never runs here
    store = CheckpointStore(
        artifact_dir=tmp_path, job_id=job.id, attempt=1, every_seconds=0, write_points=recorder.write_now
    )
    recorder.record([Point("train_loss", 10, 1, 0.5, 1.0), Point("lr", 10, 1, 0.1, 1.0)], epoch=1, step=10)
    store.save({"step": 10, "epoch": 1, "weights": torch.ones(2)})
    with session_scope() as session:
        row = repository.get_job(session, job_id=job.id)
        history = repository.read_metrics(session, job_id=job.id, names=None, after_step=0)
    assert (row.checkpoint_step, row.epoch, row.step) == (10, 1, 10)
    assert {name: series.step.tolist() for name, series in history.items()} == {"train_loss": [10], "lr": [10]}
    assert (tmp_path / str(row.checkpoint_path)).exists()
