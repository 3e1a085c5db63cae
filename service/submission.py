"""The submit use case, apart from HTTP: admit the spec, store its job (or replay the job an earlier request with the
same Idempotency-Key made), then enqueue it. The transactions it runs live in core.repository.submissions."""

import hashlib
import logging
from dataclasses import dataclass

import orjson
from celery import Celery
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.orm import Session

from core import repository
from core.admission import check_spec
from core.admission.pools import in_default_pool, pool_problems
from core.dispatch import dispatch
from core.errors import SpecRejected
from core.keys import Principal
from core.settings import get_settings
from core.spec import JobSpec
from core.tables import Job
from service.upload_jobs import resolve_job_dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """The submit's job, and whether an earlier request with the same Idempotency-Key made it."""

    job: Job
    replayed: bool


class QueueUnavailable(Exception):
    """The broker could not be reached; the job was withdrawn, so nothing is stored."""


def _new_job(
    spec: JobSpec, principal: Principal, idempotency_key: str | None, rerun_of: str | None
) -> repository.NewJob:
    """The job to store: the spec with its name resolved, and the hash a replay compares."""
    resolved = spec.model_copy(update={"name": spec.display_name()}).model_dump(mode="json")
    request_hash = hashlib.sha256(orjson.dumps(resolved, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return repository.NewJob(
        name=resolved["name"],
        spec=resolved,
        request_hash=request_hash,
        idempotency_key=idempotency_key,
        owner_id=principal.user_id,
        actor=principal.name,
        rerun_of=rerun_of,
    )


def submit(
    session: Session,
    spec: JobSpec,
    *,
    principal: Principal,
    idempotency_key: str | None,
    celery: Celery,
    rerun_of: str | None = None,
) -> Submitted:
    """Admit the spec, store its queued job and wake the dispatcher; SpecRejected, QuotaExceeded,
    IdempotencyConflict or QueueUnavailable when it cannot be. `rerun_of` names the job a rerun repeats."""
    settings = get_settings()
    spec = resolve_job_dataset(session, spec, principal)  # an upload: its schema checked, its sha256 pinned
    spec = in_default_pool(spec, settings)
    check_spec(spec, settings)
    devices = repository.pool_devices(session, pool=spec.pool)
    if problems := pool_problems(spec, devices=devices, is_admin=principal.is_admin, settings=settings):
        raise SpecRejected(problems)
    new = _new_job(spec, principal, idempotency_key, rerun_of)
    job = repository.store_job(session, new=new, max_active=settings.max_active_jobs_per_user)
    if job is None:
        return Submitted(repository.replay_job(session, new=new), replayed=True)
    try:
        dispatch(celery=celery, settings=settings)  # sends it now if its pool has a free slot; else it waits in SQL
    except BrokerError as exc:
        log.warning("broker unreachable, job %s withdrawn: %s", job.id, exc)
        repository.withdraw_job(session, job_id=job.id)
        raise QueueUnavailable(str(exc)) from exc
    return Submitted(job, replayed=False)
