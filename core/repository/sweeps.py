"""Sweeps and their trials: create, read, list, stop; the controller's lease (compare-and-set) and the trial it adds
within its owner's quota. A trial is an ordinary job row with sweep_id, trial and params set."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import SweepNotFound
from core.repository import leases
from core.repository.events import log_event
from core.repository.jobs import count_active_jobs, create_job, request_cancel
from core.repository.submissions import NewJob
from core.repository.upserts import insert_or_ignore
from core.repository.users import lock_user_for_submit
from core.states import ACTIVE_STATUSES, JobStatus, SweepState
from core.tables import Job, Sweep, SweepReport
from core.timeutil import utcnow


@dataclass(frozen=True)
class Row:
    """One report of one trial (epoch and value None: a trial with no report yet)."""

    trial: int | None
    job_id: str
    status: JobStatus
    reason: str | None
    epoch: int | None
    value: float | None


def create_sweep(
    session: Session, *, name: str, spec: dict[str, Any], owner_id: str | None, actor: str | None
) -> Sweep:
    """Store a new running sweep (committed: the controller finds it by id)."""
    sweep = Sweep(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        name=name,
        spec=spec,
        state="running",
        trials_created=0,
        actor=actor,
        created_at=utcnow(),
    )
    session.add(sweep)
    session.commit()
    return sweep


def get_sweep(session: Session, *, sweep_id: str, owner_id: str | None = None) -> Sweep:
    """One sweep by id (of this owner, when one is given), or SweepNotFound: another's sweep looks like none."""
    sweep = session.get(Sweep, sweep_id)
    if sweep is None or (owner_id is not None and sweep.owner_id != owner_id):
        raise SweepNotFound(sweep_id)
    return sweep


def list_sweeps(session: Session, *, limit: int, owner_id: str | None = None) -> Sequence[Sweep]:
    """Sweeps newest first (only this owner's, when one is given)."""
    query = select(Sweep).order_by(Sweep.created_at.desc(), Sweep.id.desc()).limit(limit)
    if owner_id is not None:
        query = query.where(Sweep.owner_id == owner_id)
    return session.scalars(query).all()


def running_sweeps(session: Session) -> list[str]:
    """The ids of every sweep still running (the reconciler's catch-all pass)."""
    return list(session.scalars(select(Sweep.id).where(Sweep.state == "running")).all())


def sweep_trials(session: Session, *, sweep_id: str) -> Sequence[Job]:
    """A sweep's trials, by number."""
    return session.scalars(select(Job).where(Job.sweep_id == sweep_id).order_by(Job.trial)).all()


def trial_counts(session: Session, *, sweep_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Each sweep's trials counted by job status, in one query."""
    query = (
        select(Job.sweep_id, Job.status, func.count())
        .where(Job.sweep_id.in_(sweep_ids))
        .group_by(Job.sweep_id, Job.status)
    )
    counts: dict[str, dict[str, int]] = {sweep_id: {} for sweep_id in sweep_ids}
    for sweep_id, status, n in session.execute(query):
        counts[str(sweep_id)][status] = int(n)
    return counts


def take_lease(session: Session, *, sweep_id: str, holder: str, until: datetime) -> bool:
    """Become the sweep's one controller until `until`, if no other holds a live lease (compare-and-set); committed."""
    lease = leases.LeaseColumns(Sweep.lease_holder, Sweep.lease_until)
    return leases.take(session, lease, (Sweep.id == sweep_id, Sweep.state == "running"), holder=holder, until=until)


def release_lease(session: Session, *, sweep_id: str, holder: str) -> None:
    """Give the lease back (only this holder's), so the next pass need not wait for it to run out; committed."""
    leases.release(session, leases.LeaseColumns(Sweep.lease_holder, Sweep.lease_until), (Sweep.id == sweep_id,), holder)


def add_trial(
    session: Session,
    *,
    sweep: Sweep,
    new: NewJob,
    trial: int,
    params: dict[str, Any],
    max_active: int,
    error: str | None = None,
) -> Job | None:
    """Commit trial number `trial` as a queued job, within its owner's quota; None (nothing stored) when the quota is
    full or another controller numbered this trial first. Committed before it is enqueued, as every job is. With an
    `error` (its sampled values make no valid spec) the trial is stored failed, never to be sent."""
    session.commit()  # end any read: the owner's lock must be this transaction's first statement
    if new.owner_id is not None:
        lock_user_for_submit(session, user_id=new.owner_id)
        if count_active_jobs(session, owner_id=new.owner_id) >= max_active:
            session.rollback()
            return None  # a sweep waits for room: the next pass tries again
    numbered = session.execute(
        update(Sweep)
        .where(Sweep.id == sweep.id, Sweep.state == "running", Sweep.trials_created == trial)
        .values(trials_created=trial + 1)
    )
    if not numbered.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        return None
    job = create_job(
        session, name=new.name, spec=new.spec, idempotency_key=None, request_hash=new.request_hash,
        owner_id=new.owner_id, actor=new.actor,
    )  # fmt: skip
    job.sweep_id, job.trial, job.params = sweep.id, trial, params
    if error is not None:
        job.status, job.reason, job.error, job.finished_at = "failed", "error", error, utcnow()
        log_event(session, job_id=job.id, status="failed", attempt=0, reason="error", detail=error)
    session.commit()
    return job


def set_outcome(
    session: Session, *, sweep_id: str, best_job_id: str | None, best_value: float | None, state: SweepState
) -> None:
    """Write the best trial so far and, when the sweep is over, its end state (only while it runs); committed."""
    values: dict[str, Any] = {"best_job_id": best_job_id, "best_value": best_value, "state": state}
    if state != "running":
        values["finished_at"] = utcnow()
    session.execute(update(Sweep).where(Sweep.id == sweep_id, Sweep.state == "running").values(**values))
    session.commit()


def stop_sweep(session: Session, *, sweep_id: str, owner_id: str | None, actor: str | None) -> Sweep:
    """Stop a sweep: no new trials, its active trials cancelled. Idempotent; committed."""
    get_sweep(session, sweep_id=sweep_id, owner_id=owner_id)
    session.execute(
        update(Sweep)
        .where(Sweep.id == sweep_id, Sweep.state == "running")
        .values(state="stopped", finished_at=utcnow())
    )
    active = session.scalars(select(Job.id).where(Job.sweep_id == sweep_id, Job.status.in_(ACTIVE_STATUSES))).all()
    for job_id in active:
        request_cancel(session, job_id=job_id, actor=actor)
    session.commit()
    session.expire_all()
    return get_sweep(session, sweep_id=sweep_id)


def sweep_of_job(session: Session, *, job_id: str) -> str | None:
    """The sweep a job is a trial of, if any."""
    return session.scalar(select(Job.sweep_id).where(Job.id == job_id))


def report_and_read(session: Session, *, job_id: str, sweep_id: str, epoch: int, value: float | None) -> list[Row]:
    """Store a trial's objective at an epoch's end (the first report of an epoch stays) and read every report and
    state of the sweep's trials: the pruner's whole input, in one transaction."""
    session.execute(insert_or_ignore(session, SweepReport).values(job_id=job_id, epoch=epoch, value=value))
    rows = sweep_reports(session, sweep_id=sweep_id)
    session.commit()
    return rows


def sweep_reports(session: Session, *, sweep_id: str) -> list[Row]:
    """Every trial of the sweep with its reports: (trial, job id, status, reason, epoch, value), the epoch and value
    None for a trial with no report yet; by trial and epoch."""
    query = (
        select(Job.trial, Job.id, Job.status, Job.reason, SweepReport.epoch, SweepReport.value)
        .outerjoin(SweepReport, SweepReport.job_id == Job.id)
        .where(Job.sweep_id == sweep_id)
        .order_by(Job.trial, SweepReport.epoch)
    )
    return [Row(*row) for row in session.execute(query)]
