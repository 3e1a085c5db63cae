"""Fenced lifecycle writes and the reconciler's compare-and-sets, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from core import repository
from core.errors import StaleAttempt
from core.metrics import Point
from core.repository.dispatch import mark_dispatched
from core.repository.lifecycle import PRUNED_MODEL
from core.states import EndReason, JobStatus
from core.tables import Job
from core.timeutil import utcnow

SPEC = {"epochs": 3, "max_restarts": 1}


def running_job(session: Session) -> str:
    job = repository.create_job(session, name="j", spec=SPEC, idempotency_key=None, request_hash=None)
    repository.claim_job(session, job_id=job.id)
    session.commit()
    return job.id


def age_heartbeat(session: Session, job_id: str, seconds: float) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(seconds=seconds)))
    session.commit()


def log(session: Session, job_id: str) -> list[tuple[str, int, str | None]]:
    return [(e.status, e.attempt, e.reason) for e in repository.job_events(session, job_id=job_id)]


def test_a_lost_job_is_requeued_then_failed_after_its_restarts(session: Session) -> None:
    job_id = running_job(session)
    age_heartbeat(session, job_id, 60)
    cutoff = utcnow() - timedelta(seconds=30)
    [lost] = repository.stale_running(session, cutoff=cutoff)
    assert (lost.attempt, lost.restarts, lost.max_restarts) == (1, 0, 1)
    assert repository.requeue_lost(session, job=lost, cutoff=cutoff) == "queued"
    session.commit()
    assert repository.requeue_lost(session, job=lost, cutoff=cutoff) is None  # a second reconciler loses
    assert repository.claim_job(session, job_id=job_id) == 2
    session.commit()
    age_heartbeat(session, job_id, 60)
    [lost] = repository.stale_running(session, cutoff=cutoff)
    assert repository.requeue_lost(session, job=lost, cutoff=cutoff) == "failed"
    session.commit()
    job = repository.get_job(session, job_id=job_id)
    assert (job.status, job.reason, job.restarts) == ("failed", "worker_lost", 1)
    assert job.error == "the worker was lost 2 times; max_restarts is 1"
    assert log(session, job_id) == [
        ("queued", 0, None),
        ("running", 1, None),
        ("queued", 1, "worker_lost"),
        ("running", 2, None),
        ("failed", 2, "worker_lost"),
    ]


def test_a_live_heartbeat_is_not_requeued(session: Session) -> None:
    running_job(session)
    assert repository.stale_running(session, cutoff=utcnow() - timedelta(seconds=30)) == []


def test_hand_back_requeues_without_a_restart(session: Session) -> None:
    job_id = running_job(session)
    assert repository.hand_back(session, job_id=job_id, attempt=1, reason="shutdown", detail="bye")
    session.commit()
    job = repository.get_job(session, job_id=job_id)
    assert (job.status, job.restarts, job.reason) == ("queued", 0, "shutdown")
    assert not repository.hand_back(session, job_id=job_id, attempt=1, reason="shutdown", detail="again")


@pytest.mark.parametrize(
    ("status", "reason", "model"),
    [
        ("succeeded", None, ("exporting", None)),  # its worker writes the model files next
        ("succeeded", "stopped_early", ("exporting", None)),
        ("succeeded", "pruned", ("unavailable", PRUNED_MODEL)),  # no files will come: said at once
        ("failed", "error", (None, None)),
    ],
)
def test_a_jobs_end_says_whether_a_model_will_come(
    session: Session, status: JobStatus, reason: EndReason | None, model: tuple[str | None, str | None]
) -> None:
    job_id = running_job(session)
    assert repository.finish_job(session, job_id=job_id, attempt=1, status=status, reason=reason)
    session.commit()
    job = repository.get_job(session, job_id=job_id)
    assert (job.model_status, job.model_detail) == model


def test_checkpoint_records_and_rewinds_are_fenced(session: Session) -> None:
    job_id = running_job(session)
    points = [Point("train_loss", s, s, 1.0 / s, s) for s in range(1, 6)]
    repository.record_progress(session, job_id=job_id, attempt=1, points=points, epoch=5, step=5)
    repository.record_checkpoint(session, job_id=job_id, attempt=1, path="jobs/x/c.pt", step=3)
    session.commit()
    with pytest.raises(StaleAttempt):
        repository.record_checkpoint(session, job_id=job_id, attempt=7, path="jobs/x/other.pt", step=4)
    session.rollback()
    age_heartbeat(session, job_id, 60)
    cutoff = utcnow() - timedelta(seconds=30)
    [lost] = repository.stale_running(session, cutoff=cutoff)
    repository.requeue_lost(session, job=lost, cutoff=cutoff)
    repository.claim_job(session, job_id=job_id)
    repository.rewind_history(session, job_id=job_id, attempt=2, step=3, epoch=3)
    session.commit()
    job = repository.get_job(session, job_id=job_id)
    assert (job.checkpoint_path, job.checkpoint_step, job.step) == ("jobs/x/c.pt", 3, 3)
    assert repository.read_metrics(session, job_id=job_id, names=None, after_step=0)["train_loss"].step.tolist() == [
        1,
        2,
        3,
    ]
    assert job.summary["train_loss"]["count"] == 3 and job.summary["train_loss"]["last"] == pytest.approx(1 / 3)
    with pytest.raises(StaleAttempt):
        repository.rewind_history(session, job_id=job_id, attempt=1, step=0, epoch=0)


def test_resending_an_orphan_is_a_compare_and_set(session: Session) -> None:
    job = repository.create_job(session, name="j", spec=SPEC, idempotency_key=None, request_hash=None)
    session.commit()
    assert repository.queued_since(session, before=utcnow() + timedelta(seconds=1)) == []  # the dispatcher's
    assert mark_dispatched(session, job_id=job.id) is not None
    [waiting] = repository.queued_since(session, before=utcnow() + timedelta(seconds=1))
    assert waiting.id == job.id
    assert repository.touch_enqueued(session, job=waiting)
    session.commit()
    assert not repository.touch_enqueued(session, job=waiting)  # another reconciler already sent it
    assert repository.queued_since(session, before=utcnow() - timedelta(seconds=5)) == []
    assert log(session, job.id)[-1] == ("queued", 0, "message_lost")
