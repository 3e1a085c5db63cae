"""Sweep routes: start a search, list and read sweeps, the leaderboard, stop."""

import logging
from collections.abc import Callable
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.orm import Session

from core.repository import sweeps as sweeps_sql
from core.settings import get_settings
from core.sweeps.checks import check_sweep
from core.sweeps.controller import past_trials, run_pass
from core.sweeps.importance import param_importances
from core.sweeps.space import SweepSpec, stored
from core.tables import Job, Sweep
from service.auth import PrincipalDep
from service.deps import SessionDep, get_celery
from service.plotting import ImageFormat, Size
from service.routes.plots import IMAGE_RESPONSES, Width, draw_plot, too_big_problem
from service.sweep_parallel import parallel_plot
from service.sweep_plots import history_plot, importance_plot
from service.sweep_schemas import SweepList, SweepOut, TrialList, leaderboard
from service.upload_jobs import resolve_job_dataset

log = logging.getLogger(__name__)
router = APIRouter(prefix="/sweeps", tags=["sweeps"])


def _out(session: Session, sweep: Sweep, counts: dict[str, int] | None = None) -> SweepOut:
    if counts is None:
        counts = sweeps_sql.trial_counts(session, sweep_ids=[sweep.id])[sweep.id]
    best = None if sweep.best_job_id is None else session.get(Job, sweep.best_job_id)
    return SweepOut.of(sweep, counts, best)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SweepOut)
def create_sweep(spec: SweepSpec, session: SessionDep, principal: PrincipalDep, response: Response) -> SweepOut:
    """Start a sweep. Its space is checked (paths, corners, objective) before anything is stored; its first trials
    are queued before this answers."""
    settings = get_settings()
    spec = spec.model_copy(update={"base": resolve_job_dataset(session, spec.base, principal)})
    check_sweep(spec, settings)
    sweep = sweeps_sql.create_sweep(
        session, name=spec.name, spec=stored(spec), owner_id=principal.user_id, actor=principal.name
    )
    try:
        run_pass(sweep.id, celery=get_celery(), settings=settings)
    except BrokerError as exc:  # the trial rows are committed: the reconciler sends them once the queue is back
        log.warning("sweep %s: queue unreachable at start: %s", sweep.id, exc)
    session.expire_all()
    response.headers["Location"] = f"/sweeps/{sweep.id}"
    return _out(session, sweeps_sql.get_sweep(session, sweep_id=sweep.id))


@router.get("", response_model=SweepList)
def list_sweeps(
    session: SessionDep, principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> SweepList:
    """List sweeps, newest first."""
    sweeps = sweeps_sql.list_sweeps(session, limit=limit, owner_id=principal.owner_filter())
    counts = sweeps_sql.trial_counts(session, sweep_ids=[s.id for s in sweeps])
    return SweepList(items=[_out(session, s, counts[s.id]) for s in sweeps])


@router.get("/{sweep_id}", response_model=SweepOut)
def read_sweep(sweep_id: str, session: SessionDep, principal: PrincipalDep) -> SweepOut:
    """One sweep: its state, trial counts and best trial."""
    return _out(session, sweeps_sql.get_sweep(session, sweep_id=sweep_id, owner_id=principal.owner_filter()))


@router.get("/{sweep_id}/trials", response_model=TrialList)
def read_trials(sweep_id: str, session: SessionDep, principal: PrincipalDep) -> TrialList:
    """The leaderboard: every trial with its values, objective and status, best first."""
    sweep = sweeps_sql.get_sweep(session, sweep_id=sweep_id, owner_id=principal.owner_filter())
    return leaderboard(sweep, sweeps_sql.sweep_trials(session, sweep_id=sweep_id))


@router.post("/{sweep_id}/stop", status_code=status.HTTP_202_ACCEPTED, response_model=SweepOut)
def stop_sweep(sweep_id: str, session: SessionDep, principal: PrincipalDep) -> SweepOut:
    """Stop a sweep: no new trials; its queued trials end cancelled, its running ones at their next check.
    Idempotent."""
    sweep = sweeps_sql.stop_sweep(session, sweep_id=sweep_id, owner_id=principal.owner_filter(), actor=principal.name)
    return _out(session, sweep)


PlotKind = Literal["history", "parallel", "importance"]
KIND_HELP = (
    "history: each trial's value and the best so far; parallel: parallel coordinates of the trials' values coloured "
    "by the objective, pruned ones grey; importance: each key's importance for the objective (PED-ANOVA on the "
    "complete trials)."
)


def _drawing(kind: PlotKind, sweep: Sweep, jobs: list[Job], *, size: Size, fmt: ImageFormat) -> Callable[[], bytes]:
    """What draws this kind of picture; the importance is computed on the renderer's thread, like the drawing."""
    spec = SweepSpec.model_validate(sweep.spec)
    board = leaderboard(sweep, jobs)
    metric = spec.objective.metric
    title = f"{sweep.name} ({sweep.state}, {len(board.items)} trials)"
    if kind == "parallel":
        return partial(parallel_plot, title=title, spec=spec, board=board, metric=metric, size=size, fmt=fmt)
    if kind == "importance":
        past = past_trials(jobs, spec)
        complete = sum(1 for t in past if t.outcome == "complete" and t.value is not None)

        def draw() -> bytes:
            ranked = param_importances(spec, past)
            return importance_plot(title=title, ranked=ranked, complete=complete, metric=metric, size=size, fmt=fmt)

        return draw
    maximize = spec.objective.mode == "max"
    return partial(history_plot, title=title, board=board, metric=metric, maximize=maximize, size=size, fmt=fmt)


@router.get("/{sweep_id}/plot.{fmt}", response_class=Response, responses=IMAGE_RESPONSES)
async def plot_sweep(
    request: Request,
    sweep_id: str,
    fmt: ImageFormat,
    session: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[PlotKind, Query(description=KIND_HELP)] = "history",
    width: Width = 800,
    height: Annotated[int, Query(ge=150, le=4000, description="Image height in pixels.")] = 450,
) -> Response:
    """A sweep as a picture, PNG or SVG: its history (each trial's objective by number, pruned ones marked, the best
    so far), parallel coordinates of its trials, or its keys' importance."""
    size = Size(width, height)
    if too_big := too_big_problem(size):
        return too_big
    owner = principal.owner_filter()
    sweep = await run_in_threadpool(partial(sweeps_sql.get_sweep, session, sweep_id=sweep_id, owner_id=owner))
    jobs = await run_in_threadpool(partial(sweeps_sql.sweep_trials, session, sweep_id=sweep_id))
    # The leaderboard of up to max_trials rows is built off the event loop too.
    draw = await run_in_threadpool(partial(_drawing, kind, sweep, list(jobs), size=size, fmt=fmt))
    return await draw_plot(request, principal, None, draw, fmt)
