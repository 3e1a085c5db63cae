"""The controller's lease and numbering: one controller at a time, a dead one's lease lapses and the next carries
on, and a trial number is never taken twice (a stale controller's add is refused, nothing stored)."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import repository
from core.repository import sweeps as sweeps_sql
from core.tables import Job
from core.timeutil import utcnow


def _new(n: int) -> repository.NewJob:
    return repository.NewJob(f"t{n}", {"epochs": 1}, "h", None, None, "test")


def test_one_lease_at_a_time_and_a_dead_holders_lapses(session: Session) -> None:
    sweep = sweeps_sql.create_sweep(session, name="s", spec={}, owner_id=None, actor=None)
    soon = utcnow() + timedelta(seconds=30)
    assert sweeps_sql.take_lease(session, sweep_id=sweep.id, holder="a", until=soon)
    assert not sweeps_sql.take_lease(session, sweep_id=sweep.id, holder="b", until=soon)
    # "a" dies holding it: once its lease has run out, "b" takes over
    sweeps_sql.take_lease(session, sweep_id=sweep.id, holder="a", until=utcnow() - timedelta(seconds=1))
    assert sweeps_sql.take_lease(session, sweep_id=sweep.id, holder="b", until=soon)
    sweeps_sql.release_lease(session, sweep_id=sweep.id, holder="a")  # a late release by the dead one is a no-op
    assert not sweeps_sql.take_lease(session, sweep_id=sweep.id, holder="c", until=soon)
    sweeps_sql.release_lease(session, sweep_id=sweep.id, holder="b")
    assert sweeps_sql.take_lease(session, sweep_id=sweep.id, holder="c", until=soon)


def test_a_trial_number_is_never_taken_twice(session: Session) -> None:
    sweep = sweeps_sql.create_sweep(session, name="s", spec={}, owner_id=None, actor=None)
    first = sweeps_sql.add_trial(session, sweep=sweep, new=_new(0), trial=0, params={"x": 1}, max_active=10)
    assert first is not None and first.trial == 0
    stale = sweeps_sql.add_trial(session, sweep=sweep, new=_new(0), trial=0, params={"x": 2}, max_active=10)
    assert stale is None  # a controller that read the sweep before the first add
    assert sweeps_sql.add_trial(session, sweep=sweep, new=_new(1), trial=1, params={"x": 3}, max_active=10)
    trials = session.scalars(select(Job.trial).where(Job.sweep_id == sweep.id).order_by(Job.trial)).all()
    assert list(trials) == [0, 1]
    assert session.scalar(select(func.count()).select_from(Job)) == 2
