"""A submit's transactions and their lock order, in one place.

Lock order: the user's row first (so racing submits of one user count their active jobs one at a time), then the
Idempotency-Key's lookup (before the quota: a retry of a submit that succeeded is answered its job, not a 429), then
the quota, then the new row, committed before anything is enqueued (the row is the truth: a worker
that gets the message must find the job). A job that cannot be enqueued is withdrawn in a transaction of its own.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import IdempotencyConflict, QuotaExceeded
from core.repository.jobs import count_active_jobs, create_job, delete_job, find_job_by_idempotency_key
from core.repository.users import lock_user_for_submit
from core.tables import Job


@dataclass(frozen=True)
class NewJob:
    """A job about to be stored: its resolved spec, the hash of that spec, and who submits it under which key."""

    name: str
    spec: dict[str, Any]
    request_hash: str
    idempotency_key: str | None
    owner_id: str | None
    actor: str
    rerun_of: str | None = None  # the job this one reruns (POST /jobs/{id}/rerun)


def _lock_owner(session: Session, *, owner_id: str | None) -> None:
    """Hold the user's row for this transaction, so racing submits of one user are counted one at a time."""
    if owner_id is None:
        return
    session.commit()  # end any read: the lock below must be this transaction's first statement
    lock_user_for_submit(session, user_id=owner_id)


def _within_quota(session: Session, *, owner_id: str | None, max_active: int) -> None:
    """Refuse a job over its owner's quota (exact: the owner's row is held)."""
    if owner_id is None:
        return
    active = count_active_jobs(session, owner_id=owner_id)
    if active >= max_active:
        raise QuotaExceeded(active, max_active)


def _key_taken(session: Session, new: NewJob) -> bool:
    if new.idempotency_key is None:
        return False
    return find_job_by_idempotency_key(session, key=new.idempotency_key, owner_id=new.owner_id) is not None


def store_job(session: Session, *, new: NewJob, max_active: int) -> Job | None:
    """Commit the new queued job within its owner's quota; None when the owner's Idempotency-Key already names a job
    (then replay_job answers)."""
    _lock_owner(session, owner_id=new.owner_id)
    if _key_taken(session, new):  # a retry of a submit that did succeed gets its job, even at the quota
        return None
    _within_quota(session, owner_id=new.owner_id, max_active=max_active)
    job = create_job(
        session,
        name=new.name,
        spec=new.spec,
        idempotency_key=new.idempotency_key,
        request_hash=new.request_hash,
        owner_id=new.owner_id,
        actor=new.actor,
        rerun_of=new.rerun_of,
    )
    try:
        session.commit()  # the row is the truth: commit before the message exists
    except IntegrityError:  # a concurrent request with the same Idempotency-Key won the race
        session.rollback()
        return None
    return job


def replay_job(session: Session, *, new: NewJob) -> Job:
    """The job an earlier request with this Idempotency-Key made, if its body was the same; IdempotencyConflict if
    it was not."""
    assert new.idempotency_key is not None, "only a request with an Idempotency-Key is replayed"
    earlier = find_job_by_idempotency_key(session, key=new.idempotency_key, owner_id=new.owner_id)
    assert earlier is not None, "store_job found this key taken"
    if earlier.request_hash != new.request_hash:
        raise IdempotencyConflict(f"Idempotency-Key '{new.idempotency_key}' was first used with a different body")
    return earlier


def withdraw_job(session: Session, *, job_id: str) -> None:
    """Delete a committed job whose message could not be sent, so a failed submit leaves nothing half-stored."""
    delete_job(session, job_id=job_id)
    session.commit()
