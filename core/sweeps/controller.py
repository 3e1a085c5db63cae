"""The sweep controller: one pass samples a sweep's next trials, stores them as jobs and sends them, and ends the
sweep when its last trial has ended. Any process may run a pass (the API right after POST /sweeps, a worker right
after a trial ends, every worker's reconciler as a catch-all); a lease in SQL lets only one act at a time, and all
its state is in SQL, so a pass that dies mid-way leaves nothing the next one cannot carry on from."""

import hashlib
import logging
import uuid
from typing import Any

import orjson
from celery import Celery
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core import repository
from core.admission import check_spec
from core.admission.pools import in_default_pool
from core.db import session_scope
from core.dispatch import dispatch_quietly
from core.errors import SpecRejected
from core.failpoints import SWEEP_TRIAL_STORED, failpoint
from core.repository import sweeps as sweeps_sql
from core.settings import Settings
from core.states import ACTIVE_STATUSES, SweepState
from core.sweeps.checks import trial_spec
from core.sweeps.space import SweepSpec
from core.sweeps.study import PastTrial, TrialOutcome, ask, rebuild, trial_budget
from core.tables import Job, Sweep
from core.timeutil import utcnow

log = logging.getLogger(__name__)


def trial_value(job: Job, spec: SweepSpec) -> float | None:
    """A trial's objective: its last value, or its best when its own early stopping ended it (the model it keeps)."""
    entry = (job.summary or {}).get(spec.objective.metric)
    if not entry:
        return None
    if job.reason == "stopped_early":
        value = entry.get("max") if spec.objective.mode == "max" else entry.get("min")
    else:
        value = entry.get("last")
    return None if value is None else float(value)


def _outcome(job: Job) -> TrialOutcome:
    if job.status in ACTIVE_STATUSES:
        return "active"
    if job.status == "succeeded":
        return "pruned" if job.reason == "pruned" else "complete"
    return "failed"


def past_trials(
    jobs: list[Job], spec: SweepSpec, reports: dict[str, dict[int, float]] | None = None
) -> list[PastTrial]:
    """The trials as the study needs them, with their reported objective by epoch (pruned ones are judged on it)."""
    reports = reports or {}
    return [
        PastTrial(
            int(job.trial or 0), dict(job.params or {}), _outcome(job), trial_value(job, spec), reports.get(job.id, {})
        )
        for job in jobs
    ]


def _reports(session: Session, sweep_id: str) -> dict[str, dict[int, float]]:
    """Each trial's finite reports, by job id."""
    found: dict[str, dict[int, float]] = {}
    for row in sweeps_sql.sweep_reports(session, sweep_id=sweep_id):
        if row.epoch is not None and row.value is not None:
            found.setdefault(row.job_id, {})[row.epoch] = row.value
    return found


def best_trial(past: list[PastTrial], jobs: list[Job], spec: SweepSpec) -> tuple[str | None, float | None]:
    """The job id and value of the best complete trial (the first on a tie)."""
    done = [
        (t.value, job.id) for t, job in zip(past, jobs, strict=True) if t.outcome == "complete" and t.value is not None
    ]
    if not done:
        return None, None
    pick = max if spec.objective.mode == "max" else min
    value, job_id = pick(done, key=lambda pair: pair[0])
    return job_id, value


def _cmaes_ask(spec: SweepSpec, past: list[PastTrial], number: int) -> dict[str, Any] | None:
    # Imported on use: the cmaes package loads SciPy (about a second), which no other sweep needs.
    from core.sweeps.cmaes_search import cmaes_ask

    return cmaes_ask(spec, past, number)


def _new_job(
    sweep: Sweep, spec: SweepSpec, number: int, params: dict[str, Any], settings: Settings
) -> tuple[repository.NewJob, str | None]:
    """The trial's job, admitted as POST /jobs admits one; when its values make no valid spec (only the space's
    corners were checked up front), the base's job and why, to be stored failed."""
    name = f"{sweep.name} #{number}"
    error = None
    try:
        job_spec = in_default_pool(trial_spec(spec, params), settings)  # a trial queues where any job would
        check_spec(job_spec, settings)
    except (ValidationError, SpecRejected) as exc:
        job_spec, error = spec.base, f"the sampled values make no valid job spec: {exc}"
    body = job_spec.model_copy(update={"name": name}).model_dump(mode="json")
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return repository.NewJob(name, body, digest, None, sweep.owner_id, sweep.actor or "sweep"), error


def _launch(
    session: Session, sweep: Sweep, spec: SweepSpec, jobs: list[Job], celery: Celery, settings: Settings
) -> int:
    """Ask, store and send new trials while the sweep has room (max_concurrent, its owner's quota); how many."""
    past = past_trials(jobs, spec, _reports(session, sweep.id))
    study = rebuild(spec, past)
    active = sum(1 for job in jobs if job.status in ACTIVE_STATUSES)
    sent = 0
    while active + sent < spec.max_concurrent and sweep.trials_created < trial_budget(spec):
        number = sweep.trials_created
        params = _cmaes_ask(spec, past, number) if spec.sampler == "cmaes" else ask(spec, study, number)
        if params is None:
            break  # CMA-ES's generation is full: the next trial waits for one of it to end
        new, error = _new_job(sweep, spec, number, params, settings)
        job = sweeps_sql.add_trial(
            session,
            sweep=sweep,
            new=new,
            trial=number,
            params=params,
            max_active=settings.max_active_jobs_per_user,
            error=error,
        )
        if job is None:
            break  # the owner's quota is full (the sweep waits) or the sweep ended meanwhile
        failpoint(SWEEP_TRIAL_STORED)
        session.refresh(sweep)
        past.append(PastTrial(number, params, "active", None))
        if error is None:
            sent += 1  # stored queued: the dispatcher sends it (run_pass wakes it once the lease is given back)
    return sent


def _settle(session: Session, sweep: Sweep, spec: SweepSpec) -> None:
    """Write the best trial; end the sweep when every trial it will make has ended."""
    jobs = list(sweeps_sql.sweep_trials(session, sweep_id=sweep.id))
    past = past_trials(jobs, spec)
    best_id, best_value = best_trial(past, jobs, spec)
    over = sweep.trials_created >= trial_budget(spec) and all(t.outcome != "active" for t in past)
    state: SweepState = ("succeeded" if best_id is not None else "failed") if over else "running"
    sweeps_sql.set_outcome(session, sweep_id=sweep.id, best_job_id=best_id, best_value=best_value, state=state)


def run_pass(sweep_id: str, *, celery: Celery, settings: Settings) -> int | None:
    """One controller pass over a sweep; the trials it started, or None when another controller holds the lease or
    the sweep is not running."""
    holder = uuid.uuid4().hex
    with session_scope() as session:
        if not sweeps_sql.take_lease(session, sweep_id=sweep_id, holder=holder, until=utcnow() + settings.lease):
            return None
        try:
            sweep = sweeps_sql.get_sweep(session, sweep_id=sweep_id)
            spec = SweepSpec.model_validate(sweep.spec)
            jobs = list(sweeps_sql.sweep_trials(session, sweep_id=sweep_id))
            sent = _launch(session, sweep, spec, jobs, celery, settings)
            _settle(session, sweep, spec)
            return sent
        finally:
            session.rollback()  # every write above committed itself; a failed one must not block the release
            sweeps_sql.release_lease(session, sweep_id=sweep_id, holder=holder)
            dispatch_quietly(celery=celery, settings=settings)


def after_trial(job_id: str, *, celery: Celery, settings: Settings) -> None:
    """A trial ended: let its sweep start the next ones now, not at the reconciler's next pass."""
    with session_scope() as session:
        sweep_id = sweeps_sql.sweep_of_job(session, job_id=job_id)
    if sweep_id is not None:
        run_pass(sweep_id, celery=celery, settings=settings)


def run_all(*, celery: Celery, settings: Settings) -> None:
    """A pass over every running sweep (the reconciler's catch-all: a controller that died, a quota that freed)."""
    with session_scope() as session:
        running = sweeps_sql.running_sweeps(session)
    for sweep_id in running:
        try:
            run_pass(sweep_id, celery=celery, settings=settings)
        except Exception:  # one sweep's failure must not starve the others
            log.exception("sweep %s: controller pass failed", sweep_id)
