"""Job routes: submit, list, read, cancel."""

import hashlib
import logging
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Response, status
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import repository
from core.admission import check_spec
from core.errors import IdempotencyConflict, QuotaExceeded
from core.keys import Principal
from core.models import Job
from core.queue import enqueue
from core.settings import get_settings
from core.spec import JobSpec
from service.auth import PrincipalDep
from service.deps import SessionDep, get_celery
from service.problems import problem
from service.schemas import JobList, JobOut, JobStatus
from service.upload_jobs import resolve_job_dataset

log = logging.getLogger(__name__)
router = APIRouter(prefix="/jobs", tags=["jobs"])


def _replay(session: Session, key: str, request_hash: str, owner_id: str | None) -> Job | None:
    """The job an earlier request with this Idempotency-Key made, if its body was the same; 409 if it was not."""
    existing = repository.find_job_by_idempotency_key(session, key=key, owner_id=owner_id)
    if existing is not None and existing.request_hash != request_hash:
        raise IdempotencyConflict(f"Idempotency-Key '{key}' was first used with a different body")
    return existing


def _admit(session: Session, principal: Principal) -> None:
    """Hold the user's row for this transaction and refuse a job over their quota (exact under racing submits)."""
    if principal.user_id is None:
        return
    session.commit()  # end any read: the lock below must be this transaction's first statement
    repository.lock_user_for_submit(session, user_id=principal.user_id)
    active = repository.count_active_jobs(session, owner_id=principal.user_id)
    limit = get_settings().max_active_jobs_per_user
    if active >= limit:
        raise QuotaExceeded(active, limit)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JobOut,
    responses={200: {"model": JobOut, "description": "The job an earlier request with this Idempotency-Key made."}},
)
def submit_job(
    spec: JobSpec,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> JobOut | Response:
    """Submit a training job. The spec is validated (and checked to fit together) before anything is stored."""
    spec = resolve_job_dataset(session, spec, principal)  # an upload: its schema checked, its sha256 pinned
    check_spec(spec, get_settings())
    resolved = spec.model_copy(update={"name": spec.display_name()}).model_dump(mode="json")
    request_hash = hashlib.sha256(orjson.dumps(resolved, option=orjson.OPT_SORT_KEYS)).hexdigest()
    owner = principal.user_id
    _admit(session, principal)
    if idempotency_key is not None and (earlier := _replay(session, idempotency_key, request_hash, owner)):
        response.status_code = status.HTTP_200_OK
        response.headers["Location"] = f"/jobs/{earlier.id}"
        return JobOut.of(earlier)
    job = repository.create_job(
        session,
        name=resolved["name"],
        spec=resolved,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        owner_id=owner,
        actor=principal.name,
    )
    try:
        session.commit()  # the row is the truth: commit before the message exists
    except IntegrityError:  # a concurrent request with the same Idempotency-Key won the race
        session.rollback()
        assert idempotency_key is not None
        earlier = _replay(session, idempotency_key, request_hash, owner)
        assert earlier is not None
        response.status_code = status.HTTP_200_OK
        response.headers["Location"] = f"/jobs/{earlier.id}"
        return JobOut.of(earlier)
    try:
        enqueue(get_celery(), job.id)
    except BrokerError as exc:
        log.warning("broker unreachable, job %s withdrawn: %s", job.id, exc)
        repository.delete_job(session, job_id=job.id)
        session.commit()
        return problem(
            503,
            "Queue unavailable",
            "the job queue cannot be reached; nothing was stored, retry shortly",
            kind="unavailable",
            headers={"Retry-After": "5"},
        )
    response.headers["Location"] = f"/jobs/{job.id}"
    return JobOut.of(job)


@router.get("", response_model=JobList)
def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> JobList:
    """List jobs, newest first, one page at a time."""
    jobs, next_cursor = repository.list_jobs(
        session, status=status_filter, limit=limit, cursor=cursor, owner_id=principal.owner_filter()
    )
    return JobList(items=[JobOut.of(job) for job in jobs], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobOut)
def read_job(job_id: str, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """One job: status, resolved spec, timestamps, attempt, progress, error, metric summaries and its state log."""
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    return JobOut.of(job, repository.job_events(session, job_id=job_id))


@router.post("/{job_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def cancel_job(job_id: str, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """Ask a job to stop: a queued job never starts, a running one stops at its next check. Idempotent."""
    job = repository.request_cancel(session, job_id=job_id, owner_id=principal.owner_filter(), actor=principal.name)
    session.commit()
    return JobOut.of(job)
