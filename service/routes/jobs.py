"""Job routes: submit, list, read, cancel."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy.orm import Session

from core import repository
from core.keys import Principal
from core.spec import JobSpec
from core.states import JobStatus
from service.auth import PrincipalDep
from service.deps import SessionDep, get_celery
from service.problems import problem
from service.schemas import JobList, JobOut
from service.submission import QueueUnavailable, submit

router = APIRouter(prefix="/jobs", tags=["jobs"])


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
    return answer_submission(session, spec, principal, response, idempotency_key)


def answer_submission(
    session: Session,
    spec: JobSpec,
    principal: Principal,
    response: Response,
    idempotency_key: str | None,
    rerun_of: str | None = None,
) -> JobOut | Response:
    """Submit a spec and answer as POST /jobs does: 201 (200 for a replayed Idempotency-Key) with Location, or 503
    when the queue cannot be reached."""
    try:
        submitted = submit(
            session, spec, principal=principal, idempotency_key=idempotency_key, celery=get_celery(), rerun_of=rerun_of
        )
    except QueueUnavailable:
        detail = "the job queue cannot be reached; nothing was stored, retry shortly"
        return problem(503, "Queue unavailable", detail, kind="unavailable", headers={"Retry-After": "5"})
    response.status_code = status.HTTP_200_OK if submitted.replayed else status.HTTP_201_CREATED
    response.headers["Location"] = f"/jobs/{submitted.job.id}"
    return JobOut.of(submitted.job)


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
