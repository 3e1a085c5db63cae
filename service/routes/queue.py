"""Queue routes: the queued jobs in run order, the pools, the workers; and a queued job's priority (PATCH)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from core import repository
from core.admission.pools import priority_problem
from core.dispatch import alive_after
from core.errors import JobNotQueued, SpecRejected
from core.queue_view import all_queues, pool_queue
from core.repository import dispatch as dispatch_sql
from core.settings import get_settings
from core.spec import POOL_PATTERN, PRIORITY_RANK
from service.auth import PrincipalDep
from service.deps import SessionDep
from service.openapi_parts import problem_answer
from service.queue_schemas import PoolList, PoolOut, PriorityPatch, QueueOut, WorkerList, WorkerOut, queued_items
from service.schemas import JobOut

router = APIRouter(tags=["queue"])


@router.get("/queue", response_model=QueueOut)
def read_queue(
    session: SessionDep,
    principal: PrincipalDep,
    pool: Annotated[str | None, Query(pattern=POOL_PATTERN, description="Only this pool's jobs.")] = None,
) -> QueueOut:
    """Queued jobs in the order they will run, pool by pool, each with its position and why it waits. Everyone's
    jobs are listed (their place depends on them); another user's shows no name or owner."""
    settings = get_settings()
    queues = [pool_queue(session, pool=pool, settings=settings)] if pool else all_queues(session, settings=settings)
    ids = [placed.job.id for queue in queues for placed in queue.jobs]
    names = dispatch_sql.names_of(session, job_ids=ids)
    return queued_items(queues, names=names, viewer=principal.owner_filter())


@router.get("/pools", response_model=PoolList)
def list_pools(session: SessionDep, _: PrincipalDep) -> PoolList:
    """Every pool with workers or active jobs: slots (live workers), busy slots, running and queued jobs."""
    loads = dispatch_sql.pool_loads(session, alive_after=alive_after(get_settings()))
    counts = dispatch_sql.counts_by_pool(session)
    items = [
        PoolOut(
            name=load.pool,
            slots=load.slots,
            busy=load.busy,
            running=counts.get(load.pool, {}).get("running", 0),
            queued=counts.get(load.pool, {}).get("queued", 0),
            workers_registered=load.registered,
        )
        for load in loads
    ]
    return PoolList(items=items)


@router.get("/workers", response_model=WorkerList, responses={403: problem_answer("Not an admin key.")})
def list_workers(session: SessionDep, principal: PrincipalDep) -> WorkerList:
    """Every registered worker (admin keys only): host, pool, device, GPU memory, running job, last seen."""
    if not principal.is_admin:
        raise HTTPException(403, "listing workers needs an admin key")
    rows = repository.list_workers(session, alive_after=alive_after(get_settings()))
    return WorkerList(items=[WorkerOut.of(row) for row in rows])


@router.patch(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses={409: problem_answer("The job is not queued: it started or ended.")},
)
def change_job(job_id: str, patch: PriorityPatch, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """Change a queued job's priority; 409 once it has started or ended."""
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    if patch.priority == "high" and get_settings().high_priority == "admins" and not principal.is_admin:
        raise SpecRejected([priority_problem()])
    changed = dispatch_sql.set_priority(
        session, job=job, name=patch.priority, rank=PRIORITY_RANK[patch.priority], actor=principal.name
    )
    if not changed:
        raise JobNotQueued(f"job '{job_id}' is {job.status}: only a queued job's priority can change")
    session.commit()
    session.expire_all()
    job = repository.get_job(session, job_id=job_id)
    return JobOut.of(job, repository.job_events(session, job_id=job_id))
