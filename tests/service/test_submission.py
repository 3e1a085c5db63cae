"""The submit use case without HTTP: a new job, a replay, a conflict, the quota, and a broker that is down."""

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import IdempotencyConflict, QuotaExceeded
from core.keys import Principal
from core.repository import issue_key, principal_for_key
from core.settings import get_settings
from core.spec import JobSpec
from core.tables import Job
from service.deps import get_celery
from service.submission import QueueUnavailable, submit
from tests.pools import simulate_workers

SPEC = JobSpec.model_validate({"dataset": "thermometer", "model": "linear", "loss": "mse", "optimizer": "sgd"})


class DownBroker(Celery):
    """A Celery app whose every send fails as an unreachable broker's does."""

    def send_task(self, *args: Any, **kwargs: Any) -> Any:
        """Fail like a broker that cannot be reached."""
        raise BrokerError("connection refused")


@pytest.fixture
def session(configured: str) -> Iterator[Session]:
    """A session on the test database, whose default pool has free slots."""
    with session_scope() as session:
        simulate_workers()
        yield session


@pytest.fixture
def alice(session: Session) -> Principal:
    """A user with a key (so a quota applies)."""
    key = issue_key(session, user_name="alice", is_admin=False).key
    session.commit()
    principal = principal_for_key(session, key=key)
    assert principal is not None
    return principal


def _jobs(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_a_submit_stores_a_queued_job_and_a_replay_answers_the_same_job(session: Session, alice: Principal) -> None:
    first = submit(session, SPEC, principal=alice, idempotency_key="k1", celery=get_celery())
    again = submit(session, SPEC, principal=alice, idempotency_key="k1", celery=get_celery())
    assert (first.replayed, first.job.status, first.job.name) == (False, "queued", "thermometer-linear-sgd")
    assert (again.replayed, again.job.id) == (True, first.job.id)
    assert _jobs(session) == 1


def test_a_key_reused_with_another_body_is_a_conflict(session: Session, alice: Principal) -> None:
    submit(session, SPEC, principal=alice, idempotency_key="k1", celery=get_celery())
    other = SPEC.model_copy(update={"epochs": 3})
    with pytest.raises(IdempotencyConflict, match="'k1' was first used with a different body"):
        submit(session, other, principal=alice, idempotency_key="k1", celery=get_celery())


def test_a_replay_at_the_quota_gets_its_job_and_a_new_submit_does_not(session: Session, alice: Principal) -> None:
    made = [
        submit(session, SPEC, principal=alice, idempotency_key=f"k{n}", celery=get_celery()).job.id
        for n in range(get_settings().max_active_jobs_per_user)
    ]
    replayed = submit(session, SPEC, principal=alice, idempotency_key="k0", celery=get_celery())
    assert replayed.replayed and replayed.job.id == made[0]
    with pytest.raises(QuotaExceeded):
        submit(session, SPEC, principal=alice, idempotency_key="k-new", celery=get_celery())


def test_a_broker_that_is_down_leaves_nothing_stored(session: Session, alice: Principal) -> None:
    with pytest.raises(QueueUnavailable):
        submit(session, SPEC, principal=alice, idempotency_key=None, celery=DownBroker("down"))
    assert _jobs(session) == 0
