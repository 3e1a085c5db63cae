"""The order a pool's waiting jobs run in, and why each waits: priority (raised by ageing), then fair share (the
owner's decayed worker-seconds, then the slots the owner holds or is about to hold), then submit time."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from core.repository.dispatch import PoolLoad, Waiting

HIGH = 2


@dataclass(frozen=True)
class Placed:
    """A waiting job in its place: its priority after ageing, its owner's fair-share usage, and why it waits."""

    job: Waiting
    position: int
    effective_priority: int
    usage: float
    reason: str


def effective_priority(job: Waiting, *, now: datetime, ageing_minutes: float) -> int:
    """The job's priority raised one level per `ageing_minutes` waited, up to high: nothing waits for ever."""
    waited = max(0.0, (now - job.enqueued_at).total_seconds()) / 60.0
    return min(HIGH, job.priority + int(waited // ageing_minutes))


def run_order(
    jobs: list[Waiting], *, usage: dict[str, float], active: dict[str, int], now: datetime, ageing_minutes: float
) -> list[tuple[Waiting, int, float]]:
    """The jobs in the order they will run, each with its effective priority and owner's usage.

    An owner's k-th job counts as if the owner already held k more slots, so owners alternate where their usage ties.
    """
    levels = {job.id: effective_priority(job, now=now, ageing_minutes=ageing_minutes) for job in jobs}
    by_owner: dict[str | None, list[Waiting]] = defaultdict(list)
    for job in sorted(jobs, key=lambda j: (-levels[j.id], j.created_at, j.id)):
        by_owner[job.owner_id].append(job)
    keyed = []
    for owner, owned in by_owner.items():
        used = usage.get(owner or "", 0.0)
        held = active.get(owner or "", 0)
        for rank, job in enumerate(owned):
            keyed.append(((-levels[job.id], used, held + rank, job.created_at, job.id), job, used))
    keyed.sort(key=lambda item: item[0])
    return [(job, levels[job.id], used) for _, job, used in keyed]


def _reason(entry: tuple[Waiting, int, float], ahead: list[tuple[Waiting, int, float]], load: PoolLoad) -> str:
    job, level, used = entry
    if job.dispatched_at is not None:
        return f"sent to pool '{load.pool}': waiting for a worker there to start it"
    if not load.known:
        return f"no worker in pool '{load.pool}' has been seen"
    if load.slots == 0:
        return f"no worker in pool '{load.pool}' has been seen lately: every one stopped or went silent"
    if len(ahead) < load.free:
        return "next: a slot is free"
    if any(other_level > level for _, other_level, _ in ahead):
        return "behind jobs of higher priority"
    if any(other_used < used for other, _, other_used in ahead if other.owner_id != job.owner_id):
        return "user over fair share"
    return f"pool {load.pool} busy: {load.busy} of {load.slots} slots"


def place(
    jobs: list[Waiting],
    *,
    load: PoolLoad,
    usage: dict[str, float],
    active: dict[str, int],
    now: datetime,
    ageing_minutes: float,
) -> list[Placed]:
    """The pool's queued jobs (those sent first, oldest first) in run order, with positions and reasons."""
    sent = sorted((j for j in jobs if j.dispatched_at is not None), key=lambda j: (j.dispatched_at, j.id))
    waiting = [j for j in jobs if j.dispatched_at is None]
    ordered = [
        (j, effective_priority(j, now=now, ageing_minutes=ageing_minutes), usage.get(j.owner_id or "", 0.0))
        for j in sent
    ]
    ordered += run_order(waiting, usage=usage, active=active, now=now, ageing_minutes=ageing_minutes)
    unsent: list[tuple[Waiting, int, float]] = []
    placed = []
    for position, entry in enumerate(ordered, start=1):
        placed.append(Placed(entry[0], position, entry[1], entry[2], _reason(entry, unsent, load)))
        if entry[0].dispatched_at is None:
            unsent.append(entry)
    return placed
