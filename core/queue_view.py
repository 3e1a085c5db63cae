"""The queue as people read it: each pool's slots and load, its queued jobs in run order with why each waits, and
the workers; read from SQL, so every API replica tells the same."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.dispatch import alive_after
from core.queue_order import Placed, place
from core.repository import dispatch as sql
from core.settings import Settings
from core.timeutil import utcnow


@dataclass(frozen=True)
class PoolQueue:
    """A pool's load and its queued jobs in run order."""

    load: sql.PoolLoad
    jobs: list[Placed]


def pool_queue(session: Session, *, pool: str, settings: Settings) -> PoolQueue:
    """One pool's queued jobs in the order they will run, each with its position and reason."""
    now = utcnow()
    (load,) = sql.pool_loads(session, alive_after=alive_after(settings, now), pools=[pool])
    jobs = sql.waiting_jobs(session, pool=pool, include_sent=True)
    if not jobs:
        return PoolQueue(load, [])
    usage = sql.usage_by_owner(session, half_life_seconds=settings.fair_share_half_life_hours * 3600, now=now)
    active = sql.active_by_owner(session, pool=pool)
    placed = place(jobs, load=load, usage=usage, active=active, now=now, ageing_minutes=settings.ageing_minutes)
    return PoolQueue(load, placed)


def all_queues(session: Session, *, settings: Settings) -> list[PoolQueue]:
    """Every pool with workers or active jobs, by name."""
    pools = [load.pool for load in sql.pool_loads(session, alive_after=alive_after(settings))]
    return [pool_queue(session, pool=pool, settings=settings) for pool in pools]
