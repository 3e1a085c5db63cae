"""The SQL layer on SQLite and PostgreSQL: claims, fencing, idempotent points, summaries, pages, cancel."""

import math

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import repository
from core.errors import InvalidCursor, JobNotFound, StaleAttempt
from core.metrics import Point
from core.models import MetricPoint

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
    assert series.step == [1, 2, 3, 4, 5]
    assert series.value == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert repository.read_metrics(session, job_id=job_id, names=None, after_step=3)["train_loss"].step == [4, 5]
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
    assert repository.record_progress(session, job_id=job_id, attempt=1, points=[], epoch=0, step=0) is True


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
    assert all(v is None or not math.isfinite(v) for v in values[1:])
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
