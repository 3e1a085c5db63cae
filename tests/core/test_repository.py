"""The SQL layer on SQLite and PostgreSQL: claims, fencing, idempotent points, summaries, pages, cancel."""

import math

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import repository
from core.errors import InvalidCursor, JobNotFound, StaleAttempt
from core.metrics import Point
from core.tables import MetricChunk, MetricPoint

SPEC = {"epochs": 3, "dataset": {"name": "thermometer"}}


def new_job(session: Session, name: str = "job") -> str:
    job = repository.create_job(session, name=name, spec=SPEC, idempotency_key=None, request_hash=None)
    session.commit()
    return job.id


def points(steps: range, value: float = 1.0) -> list[Point]:
    return [Point("train_loss", s, s, value * s, 0.1 * s) for s in steps]


def test_claim_is_a_compare_and_set(session: Session) -> None:
    job_id = new_job(session)
    assert repository.claim_job(session, job_id=job_id) == 1
    session.commit()
    assert repository.claim_job(session, job_id=job_id) is None  # a second delivery loses
    job = repository.get_job(session, job_id=job_id)
    assert (job.status, job.attempt, job.started_at is not None) == ("running", 1, True)


def test_a_cancelled_queued_job_cannot_be_claimed(session: Session) -> None:
    job_id = new_job(session)
    assert repository.request_cancel(session, job_id=job_id).status == "cancelled"
    session.commit()
    assert repository.claim_job(session, job_id=job_id) is None


def test_points_are_written_once_per_name_and_step(session: Session) -> None:
    job_id = new_job(session)
    attempt = repository.claim_job(session, job_id=job_id)
    assert attempt == 1
    repository.record_progress(session, job_id=job_id, attempt=1, points=points(range(1, 4)), epoch=3, step=3)
    session.commit()
    repository.record_progress(session, job_id=job_id, attempt=1, points=points(range(2, 6)), epoch=5, step=5)
    session.commit()
    count = session.scalar(select(func.count()).select_from(MetricPoint).where(MetricPoint.job_id == job_id))
    assert count == 5
    series = repository.read_metrics(session, job_id=job_id, names=None, after_step=0)["train_loss"]
    assert series.step.tolist() == [1, 2, 3, 4, 5]
    assert series.value.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert repository.read_metrics(session, job_id=job_id, names=None, after_step=3)["train_loss"].step.tolist() == [
        4,
        5,
    ]
    assert repository.read_metrics(session, job_id=job_id, names=["val_loss"], after_step=0) == {}


def test_summary_tracks_last_min_max_and_best(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    batch = [
        Point("val_loss", 1, 1, 0.9, 1),
        Point("val_loss", 2, 2, 0.4, 2),
        Point("val_loss", 3, 3, 0.6, 3),
        Point("val_accuracy", 1, 1, 0.5, 1),
        Point("val_accuracy", 2, 2, 0.8, 2),
    ]
    repository.record_progress(session, job_id=job_id, attempt=1, points=batch, epoch=3, step=3)
    session.commit()
    summary = repository.get_job(session, job_id=job_id).summary
    assert summary["val_loss"] == {
        "count": 3,
        "last": 0.6,
        "last_step": 3,
        "min": 0.4,
        "max": 0.9,
        "best": 0.4,
        "best_step": 2,
    }
    assert summary["val_accuracy"]["best"] == 0.8 and summary["val_accuracy"]["best_step"] == 2


def test_a_stale_attempt_cannot_write(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    session.commit()
    with pytest.raises(StaleAttempt):
        repository.record_progress(session, job_id=job_id, attempt=2, points=points(range(1, 2)), epoch=1, step=1)
    session.rollback()
    assert not repository.finish_job(session, job_id=job_id, attempt=2, status="succeeded", error=None)
    assert repository.finish_job(session, job_id=job_id, attempt=1, status="succeeded", error=None)
    session.commit()
    assert repository.get_job(session, job_id=job_id).status == "succeeded"


def test_cancel_of_a_running_job_sets_the_flag_the_worker_reads(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    session.commit()
    job = repository.request_cancel(session, job_id=job_id)
    session.commit()
    assert (job.status, job.cancel_requested) == ("running", True)
    assert repository.record_progress(session, job_id=job_id, attempt=1, points=[], epoch=0, step=0) == "cancelled"


def test_non_finite_values_are_stored(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    batch = [
        Point("train_loss", 1, 1, 1.5, 1),
        Point("train_loss", 2, 2, math.inf, 2),
        Point("train_loss", 3, 3, math.nan, 3),
    ]
    repository.record_progress(session, job_id=job_id, attempt=1, points=batch, epoch=3, step=3)
    session.commit()
    values = repository.read_metrics(session, job_id=job_id, names=None, after_step=0)["train_loss"].value
    assert values[0] == 1.5
    assert not any(math.isfinite(v) for v in values[1:])
    assert repository.get_job(session, job_id=job_id).summary["train_loss"]["last"] is None


def test_list_is_newest_first_in_pages(session: Session) -> None:
    ids = [new_job(session, name=f"job-{i}") for i in range(5)]
    page, cursor = repository.list_jobs(session, status=None, limit=2, cursor=None)
    seen = [job.id for job in page]
    while cursor is not None:
        page, cursor = repository.list_jobs(session, status=None, limit=2, cursor=cursor)
        seen += [job.id for job in page]
    assert seen == list(reversed(ids))
    repository.claim_job(session, job_id=ids[0])
    session.commit()
    running, _ = repository.list_jobs(session, status="running", limit=10, cursor=None)
    assert [job.id for job in running] == [ids[0]]
    with pytest.raises(InvalidCursor):
        repository.list_jobs(session, status=None, limit=2, cursor="not-a-cursor")


def test_unknown_job_is_not_found(session: Session) -> None:
    with pytest.raises(JobNotFound):
        repository.get_job(session, job_id="nope")


def write(session: Session, job_id: str, batch: list[Point]) -> None:
    step = max(p.step for p in batch)
    repository.record_progress(session, job_id=job_id, attempt=1, points=batch, epoch=step, step=step)
    session.commit()


def stored_rows(session: Session, job_id: str) -> tuple[int, int]:
    """(points in the hot tail, packed chunks) of a job."""
    tail = session.scalar(select(func.count()).select_from(MetricPoint).where(MetricPoint.job_id == job_id))
    chunks = session.scalar(select(func.count()).select_from(MetricChunk).where(MetricChunk.job_id == job_id))
    return int(tail or 0), int(chunks or 0)


def test_a_long_history_is_packed_in_chunks_and_read_back_exactly(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    for first in range(1, 1500, 7):  # small batches, each written twice as a retry would
        batch = points(range(first, min(first + 7, 1500)))
        write(session, job_id, batch)
        write(session, job_id, batch)
    write(session, job_id, points(range(1, 2600)))  # one big batch, most of it stored already
    assert stored_rows(session, job_id) == (0, 3)  # two full chunks and one of the 599 points left
    series = repository.read_metrics(session, job_id=job_id, names=None, after_step=0)["train_loss"]
    assert series.step.tolist() == list(range(1, 2600))
    assert series.value.tolist() == [float(s) for s in range(1, 2600)]
    assert series.time.tolist() == [0.1 * s for s in range(1, 2600)]
    window = repository.read_metrics(session, job_id=job_id, names=["train_loss"], after_step=990, through_step=2010)
    assert window["train_loss"].step.tolist() == list(range(991, 2011))
    summary = repository.get_job(session, job_id=job_id).summary["train_loss"]
    assert (summary["count"], summary["last_step"], summary["max"]) == (2599, 2599, 2599.0)


def test_rewinding_cuts_through_a_chunk(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    write(session, job_id, points(range(1, 3001)))
    assert stored_rows(session, job_id) == (0, 3)
    repository.rewind_history(session, job_id=job_id, attempt=1, step=1500, epoch=1500)
    session.commit()
    assert stored_rows(session, job_id) == (500, 1)
    assert repository.read_metrics(session, job_id=job_id, names=None, after_step=0)[
        "train_loss"
    ].step.tolist() == list(range(1, 1501))
    assert repository.get_job(session, job_id=job_id).summary["train_loss"] == {
        "count": 1500,
        "last": 1500.0,
        "last_step": 1500,
        "min": 1.0,
        "max": 1500.0,
        "best": 1.0,
        "best_step": 1,
    }
    write(session, job_id, points(range(1501, 2001), value=2.0))  # the resumed attempt goes on from the checkpoint
    series = repository.read_metrics(session, job_id=job_id, names=None, after_step=0)["train_loss"]
    assert series.step.tolist() == list(range(1, 2001)) and series.value[-1] == 4000.0


def test_a_downsampled_long_history_keeps_its_shape(session: Session) -> None:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    values = [math.sin(s / 500) for s in range(1, 30_001)]
    values[12_344], values[20_000] = 7.0, math.nan
    batch = [Point("val_loss", s, s, v, float(s)) for s, v in enumerate(values, start=1)]
    write(session, job_id, batch[:29_990])
    write(session, job_id, batch[29_990:])  # a tail of 10 rows after 29 chunks
    small = repository.read_metrics(session, job_id=job_id, names=None, after_step=0, max_points=20)["val_loss"]
    steps = small.step.tolist()
    assert steps[0] == 1 and steps[-1] == 30_000 and steps == sorted(set(steps))
    assert {12_345, 20_001} <= set(steps) and len(steps) <= 24
    assert float(np.nanmax(small.value)) == 7.0 and float(np.nanmin(small.value)) == pytest.approx(-1, abs=1e-4)
    again = repository.read_metrics(session, job_id=job_id, names=["val_loss"], after_step=0, max_points=20)
    assert again["val_loss"].to_lists() == small.to_lists()
    later = repository.read_metrics(session, job_id=job_id, names=None, after_step=25_500, max_points=20)["val_loss"]
    assert later.step[0] == 25_501 and later.step[-1] == 30_000
    whole = repository.read_metrics(session, job_id=job_id, names=None, after_step=0, max_points=50_000)["val_loss"]
    assert len(whole) == 30_000
