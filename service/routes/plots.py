"""Plot images of metric histories: one job's curves, or one metric of several jobs, as PNG or SVG.

Drawing is the costliest thing the API does, so it never runs on the event loop or on the thread pool the other
routes share: the database reads go to that pool (they are short), the drawing to the renderer's own threads, at most
`plot_concurrency` at a time and `plot_concurrency_per_user` per user (429 beyond), and the pictures of ended jobs
are cached."""

from collections.abc import Callable, Hashable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from core import repository
from core.keys import Principal
from core.metrics import METRIC_NAMES, Series
from core.settings import get_settings
from core.states import TERMINAL_STATUSES
from core.tables import Job
from service.auth import PrincipalDep
from service.deps import SessionDep
from service.plot_renderer import PlotRenderer, RenderBusy
from service.plotting import ImageFormat, Size, compare_plot, job_plot, panels_for
from service.problems import problem
from service.query import names_problem, wanted_names

router = APIRouter(tags=["plots"])
MAX_COMPARE_JOBS = 12
# Enough points for any screen; a 100,000-epoch history draws as fast as a short one.
PLOT_POINTS = 2000
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The picture, PNG or SVG as the path asks.", "content": {t: {} for t in MEDIA_TYPES.values()}}
}
Width = Annotated[int, Query(ge=200, le=4000, description="Image width in pixels.")]
Height = Annotated[int | None, Query(ge=150, le=4000, description="Image height in pixels (default: by panel count).")]
Log = Annotated[bool, Query(description="Log-scale y axis.")]
RETRY_AFTER_SECONDS = 2


def _image(content: bytes, fmt: ImageFormat) -> Response:
    # Live jobs change between requests: never let a cache hold on to an old picture.
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={"Cache-Control": "no-store"})


def _invalid(param: str, why: str, kind: str) -> Response:
    errors = [{"loc": ["query", param], "msg": why, "type": kind}]
    return problem(422, "Invalid request", f"query.{param}: {why}", kind="validation", errors=errors)


def too_big_problem(size: Size) -> Response | None:
    """A 422 for an image above the server's pixel limit, or None when it fits."""
    limit = get_settings().max_plot_pixels
    if size.width * size.height <= limit:
        return None
    why = f"width x height is {size.width * size.height:,} pixels; at most {limit:,}"
    return _invalid("height", why, "image_too_large")


def _split(raw: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def _end_state(jobs: list[Job]) -> tuple[Hashable, ...] | None:
    """What identifies these jobs' histories for good: None while any of them may still change."""
    if any(job.status not in TERMINAL_STATUSES for job in jobs):
        return None
    return tuple((job.id, job.status, job.attempt, job.step, job.finished_at) for job in jobs)


def _renderer(request: Request) -> PlotRenderer:
    # The lifespan makes it; an app served without one (a bare test client) gets one on first use.
    state = request.app.state
    if getattr(state, "plots", None) is None:
        state.plots = PlotRenderer.from_settings(get_settings())
    renderer: PlotRenderer = state.plots
    return renderer


async def draw_plot(
    request: Request, principal: Principal, key: Hashable | None, draw: Callable[[], bytes], fmt: ImageFormat
) -> Response:
    """Draw an image through the app's bounded renderer (429 when it is busy), cached under key when given."""
    try:
        image = await _renderer(request).render(user=principal.user_id or principal.name, cache_key=key, draw=draw)
    except RenderBusy as busy:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return problem(429, "Too many plots", busy.why, kind="rate-limited", headers=headers)
    return _image(image, fmt)


def _cached(request: Request, key: Hashable | None, fmt: ImageFormat) -> Response | None:
    image = None if key is None else _renderer(request).cache.get(key)
    return None if image is None else _image(image, fmt)


@router.get("/jobs/{job_id}/plot.{fmt}", response_class=Response, responses=IMAGE_RESPONSES)
async def plot_job(
    request: Request,
    job_id: str,
    fmt: ImageFormat,
    session: SessionDep,
    principal: PrincipalDep,
    names: Annotated[str | None, Query(max_length=1000, description="Comma-separated metric names.")] = None,
    width: Width = 800,
    height: Height = None,
    log: Log = False,
) -> Response:
    """A job's curves as PNG or SVG: a panel per family of metrics (loss train vs validation, accuracy, lr...)."""
    wanted = wanted_names(names)
    owner = principal.owner_filter()
    job = await run_in_threadpool(partial(repository.get_job, session, job_id=job_id, owner_id=owner))
    end = _end_state([job])
    key = None if end is None else ("job", fmt, end, tuple(wanted or ()), width, height, log)
    if cached := _cached(request, key, fmt):
        return cached  # an ended job's picture: not even its points are read again
    points = await run_in_threadpool(
        partial(repository.read_metrics, session, job_id=job_id, names=wanted, after_step=0, max_points=PLOT_POINTS)
    )
    chosen = wanted or [name for name in METRIC_NAMES if name in points]
    size = Size(width, height or 100 + 220 * max(1, len(panels_for(chosen))))
    if too_big := too_big_problem(size):
        return too_big
    title = f"{job.name} ({job.status}, epoch {job.epoch}/{job.spec['epochs']})"
    draw = partial(job_plot, title=title, series=points, names=chosen, size=size, fmt=fmt, log=log)
    return await draw_plot(request, principal, key, draw, fmt)


def _jobs(session: Session, principal: Principal, job_ids: list[str]) -> list[Job]:
    return [repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter()) for job_id in job_ids]


def _lines(session: Session, jobs: list[Job], metric: str) -> list[tuple[str, Series]]:
    lines = []
    for job in jobs:
        series = repository.read_metrics(session, job_id=job.id, names=[metric], after_step=0, max_points=PLOT_POINTS)
        lines.append((f"{job.name} ({job.id[:8]})", series.get(metric, Series())))
    return lines


@router.get("/compare/plot.{fmt}", response_class=Response, responses=IMAGE_RESPONSES)
async def plot_comparison(
    request: Request,
    fmt: ImageFormat,
    session: SessionDep,
    principal: PrincipalDep,
    jobs: Annotated[str, Query(max_length=2000, description="Comma-separated job ids.")],
    metric: Annotated[str, Query(max_length=64, description="The metric to compare, e.g. val_loss.")],
    width: Width = 800,
    height: Annotated[int, Query(ge=150, le=4000, description="Image height in pixels.")] = 450,
    log: Log = False,
) -> Response:
    """One metric of several jobs on one chart (the classic "SGD vs Adam on the same model"), PNG or SVG."""
    if why := names_problem([metric]):
        return _invalid("metric", why, "metric_unknown")
    job_ids = _split(jobs)
    if not job_ids:
        return _invalid("jobs", "give one or more comma-separated job ids", "jobs_empty")
    if len(job_ids) > MAX_COMPARE_JOBS:
        return _invalid("jobs", f"at most {MAX_COMPARE_JOBS} jobs on one chart, not {len(job_ids)}", "jobs_too_many")
    size = Size(width, height)
    if too_big := too_big_problem(size):
        return too_big
    found = await run_in_threadpool(_jobs, session, principal, job_ids)
    end = _end_state(found)
    key = None if end is None else ("compare", fmt, end, metric, width, height, log)
    if cached := _cached(request, key, fmt):
        return cached
    lines = await run_in_threadpool(_lines, session, found, metric)
    draw = partial(compare_plot, metric=metric, lines=lines, size=size, fmt=fmt, log=log)
    return await draw_plot(request, principal, key, draw, fmt)
