"""The dispatcher on a real database (SQLite, PostgreSQL) and a real Redis: slots, routing, order, fencing, races.

Workers here are simulated (rows in the worker table, claims made with the repository's own claim): the dispatcher
reads only SQL, so it cannot tell them from worker processes; tests/e2e/test_pools.py runs real ones."""

import base64
import json
import os
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import update

from cli.redis_server import RedisServer
from core import repository
from core.db import session_scope
from core.dispatch import LEASE_NAME, dispatch
from core.queue import make_celery, queue_for
from core.repository import leases
from core.repository.dispatch import mark_dispatched, pool_loads, request_preempt
from core.repository.users import _user
from core.settings import get_settings
from core.tables import Job
from core.timeutil import utcnow
from tests.pools import simulate_workers

BURST = int(os.environ.get("GRADYARD_TEST_BURST", "500"))
BASE = {"dataset": {"name": "thermometer"}, "model": {"name": "linear"}, "loss": {"name": "mse"}}


@pytest.fixture
def celery(configured: str) -> Celery:
    """A Celery app on the test Redis, with the test's own queue name."""
    return make_celery(get_settings())


@pytest.fixture
def broker(redis_server: RedisServer) -> Any:
    """The test Redis's client."""
    return redis_server.client()


def sent(broker: Any, pool: str = "default") -> list[str]:
    """The job ids waiting in the pool's queue, oldest first."""
    raw = broker.lrange(queue_for(get_settings(), pool), 0, -1)
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in reversed(raw)]


def submit(*, pool: str = "default", priority: str = "normal", owner: str | None = None, age_s: float = 0) -> str:
    """A committed queued job (as POST /jobs stores one), `age_s` seconds old."""
    with session_scope() as session:
        owner_id = _user(session, name=owner).id if owner else None
        spec = {**BASE, "pool": pool, "priority": priority}
        job = repository.create_job(session, name="j", spec=spec, idempotency_key=None, request_hash=None)
        job.owner_id = owner_id
        if age_s:
            job.created_at = job.enqueued_at = utcnow() - timedelta(seconds=age_s)
        return job.id


def run(job_id: str, worker: str) -> int:
    """A simulated worker claims the job (as the task does on its message)."""
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id, worker_id=worker)
    assert attempt is not None
    return attempt


def finish(job_id: str, attempt: int) -> None:
    """The job ends succeeded."""
    with session_scope() as session:
        assert repository.finish_job(session, job_id=job_id, attempt=attempt, status="succeeded")


def test_a_job_waits_in_sql_until_its_pool_has_a_free_slot(celery: Celery, broker: Any) -> None:
    first, second = submit(), submit()
    assert dispatch(celery=celery, settings=get_settings()) == []  # no worker yet: nothing goes to the broker
    [worker] = simulate_workers(1)
    assert dispatch(celery=celery, settings=get_settings()) == [first]
    assert dispatch(celery=celery, settings=get_settings()) == []  # the one slot is taken by the sent job
    attempt = run(first, worker)
    assert dispatch(celery=celery, settings=get_settings()) == []  # ...and then by the running one
    finish(first, attempt)
    assert dispatch(celery=celery, settings=get_settings()) == [second]
    assert sent(broker) == [first, second]


def test_each_pool_gets_only_its_own_jobs(celery: Celery, broker: Any) -> None:
    simulate_workers(1, pool="gpu", device="NVIDIA H100")
    simulate_workers(1, pool="cpu")
    on_gpu, on_cpu = submit(pool="gpu"), submit(pool="cpu")
    submit(pool="a100")
    assert sorted(dispatch(celery=celery, settings=get_settings())) == sorted([on_gpu, on_cpu])
    assert (sent(broker, "gpu"), sent(broker, "cpu"), sent(broker, "a100")) == ([on_gpu], [on_cpu], [])
    with session_scope() as session:
        loads = {load.pool: load for load in pool_loads(session, alive_after=utcnow() - timedelta(seconds=30))}
    assert (loads["gpu"].slots, loads["gpu"].busy, loads["a100"].known, loads["a100"].busy) == (1, 1, False, 0)


def test_a_high_job_runs_before_five_low_ones_queued_earlier(celery: Celery, broker: Any, configured: str) -> None:
    [worker] = simulate_workers(1)
    busy = submit()
    dispatch(celery=celery, settings=get_settings())
    attempt = run(busy, worker)
    lows = [submit(priority="low") for _ in range(5)]
    high = submit(priority="high")
    finish(busy, attempt)
    assert dispatch(celery=celery, settings=get_settings()) == [high]
    attempt = run(high, worker)
    finish(high, attempt)
    assert dispatch(celery=celery, settings=get_settings()) == [lows[0]]  # then the lows, oldest first


def test_a_low_job_that_waited_past_two_ageing_periods_goes_before_a_new_high_one(
    celery: Celery, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulate_workers(1)
    ageing = get_settings().ageing_minutes * 60
    old_low = submit(priority="low", age_s=2 * ageing + 1)
    submit(priority="normal", age_s=ageing + 1)  # aged to high too, but submitted later
    submit(priority="high")
    assert dispatch(celery=celery, settings=get_settings()) == [old_low]


def test_the_user_who_used_least_goes_first(celery: Celery) -> None:
    [worker] = simulate_workers(1)
    heavy_jobs = [submit(owner="heavy") for _ in range(4)]
    attempt = run_first_dispatched(celery, worker)  # heavy's first job ran for an hour
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == heavy_jobs[0]).values(started_at=utcnow() - timedelta(hours=1)))
    finish(heavy_jobs[0], attempt)
    light_jobs = [submit(owner="light") for _ in range(2)]  # posted later
    order = []
    for _ in range(5):
        job_id = run_first_dispatched(celery, worker, finish_it=True)
        order.append(job_id)
    assert order == [*light_jobs, *heavy_jobs[1:]]


def run_first_dispatched(celery: Celery, worker: str, *, finish_it: bool = False) -> Any:
    """Dispatch one job to the one simulated worker and claim it (and end it); its attempt, or its id if ended."""
    [job_id] = dispatch(celery=celery, settings=get_settings())
    attempt = run(job_id, worker)
    if finish_it:
        finish(job_id, attempt)
        return job_id
    return attempt


def test_owners_with_equal_usage_take_turns(celery: Celery) -> None:
    simulate_workers(4)
    a = [submit(owner="ann") for _ in range(3)]
    b = [submit(owner="bob") for _ in range(2)]
    assert dispatch(celery=celery, settings=get_settings()) == [a[0], b[0], a[1], b[1]]


def test_a_sent_job_is_never_sent_again_and_a_lost_message_is_resent_once(
    celery: Celery, broker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulate_workers(2)
    crashed, other = submit(), submit()
    with session_scope() as session:  # a dispatcher marked it sent, then died before the message existed
        assert mark_dispatched(session, job_id=crashed) is not None
        assert mark_dispatched(session, job_id=crashed) is None  # a second dispatcher loses the compare-and-set
    assert dispatch(celery=celery, settings=get_settings()) == [other]
    assert sent(broker) == [other]
    monkeypatch.setenv("GRADYARD_QUEUED_GRACE_SECONDS", "0.01")
    get_settings.cache_clear()
    from worker.reconciler import Reconciler  # the worker side: it may import torch

    reconciler = Reconciler(celery, get_settings())
    assert reconciler.resend_orphans() == [crashed]  # found with no message: sent again, once
    assert reconciler.resend_orphans() == []  # its message is there now
    assert Counter(sent(broker)) == {other: 1, crashed: 1}


def test_a_dispatcher_that_finds_the_lease_held_wakes_the_holder_instead(celery: Celery) -> None:
    simulate_workers(1)
    submit()
    with session_scope() as session:
        wakes = leases.take_named(session, name=LEASE_NAME, holder="other", until=utcnow() + timedelta(seconds=30))
        assert wakes is not None
        assert dispatch(celery=celery, settings=get_settings()) == []  # held: it only woke the holder
        assert not leases.release_named(session, name=LEASE_NAME, holder="other", wakes=wakes)  # run again first
        assert leases.release(session, leases.NAMED, (), "other")
    assert len(dispatch(celery=celery, settings=get_settings())) == 1


def test_racing_dispatchers_send_a_burst_of_500_jobs_over_3_workers_in_2_pools_once_each(
    celery: Celery, broker: Any
) -> None:
    workers = {"gpu": simulate_workers(2, pool="gpu", device="NVIDIA H100"), "cpu": simulate_workers(1, pool="cpu")}
    jobs = {
        submit(pool="gpu" if n % 3 else "cpu", owner=f"user{n % 5}"): "gpu" if n % 3 else "cpu" for n in range(BURST)
    }
    ran: Counter[str] = Counter()
    lock = threading.Lock()

    def worker_loop(pool: str, worker: str) -> None:
        """A simulated worker: dispatch (as each worker's timer does, all at once), take its pool's next message."""
        while True:
            dispatch(celery=celery, settings=get_settings())
            with lock:
                raw = broker.rpop(queue_for(get_settings(), pool))
            if raw is None:
                with session_scope() as session:
                    left = session.query(Job).filter(Job.pool == pool, Job.status == "queued").count()
                if left == 0:
                    return
                time.sleep(0.01)  # as a worker waits on the broker, not in a tight loop of wake-ups
                continue
            job_id = json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]
            with session_scope() as session:
                attempt = repository.claim_job(session, job_id=job_id, worker_id=worker)
            assert attempt == 1, f"job {job_id} was sent twice"
            finish(job_id, attempt)
            ran[job_id] += 1

    threads = [threading.Thread(target=worker_loop, args=(p, w)) for p, ids in workers.items() for w in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads)
    assert set(ran) == set(jobs) and set(ran.values()) == {1}


def test_preemption_asks_the_lowest_priority_job_that_ran_long_enough(celery: Celery) -> None:
    workers = simulate_workers(3)
    jobs = [submit(priority=p) for p in ("normal", "low", "low")]
    dispatch(celery=celery, settings=get_settings())
    for job_id, worker in zip(jobs, workers, strict=True):
        run(job_id, worker)
    with session_scope() as session:
        session.execute(update(Job).where(Job.id != jobs[2]).values(started_at=utcnow() - timedelta(minutes=10)))
        session.commit()
        started_before = utcnow() - timedelta(minutes=5)
        assert request_preempt(session, pool="default", below=2, started_before=started_before) == jobs[1]
        assert request_preempt(session, pool="default", below=2, started_before=started_before) is None  # one at a time
        asked = repository.record_progress(session, job_id=jobs[1], attempt=1, points=[], epoch=0, step=0)
    assert asked == "preempted"
