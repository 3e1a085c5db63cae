"""Plot images of metric histories: one job's curves, or one metric of several jobs, as PNG or SVG."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from core import repository
from core.metrics import METRIC_NAMES, Series
from service.auth import PrincipalDep
from service.deps import SessionDep
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


def _image(content: bytes, fmt: ImageFormat) -> Response:
    # Live jobs change between requests: never let a cache hold on to an old picture.
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={"Cache-Control": "no-store"})


def _invalid(param: str, why: str, kind: str) -> Response:
    errors = [{"loc": ["query", param], "msg": why, "type": kind}]
    return problem(422, "Invalid request", f"query.{param}: {why}", kind="validation", errors=errors)


def _split(raw: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


@router.get("/jobs/{job_id}/plot.{fmt}", response_class=Response, responses=IMAGE_RESPONSES)
def plot_job(
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
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    points = repository.read_metrics(session, job_id=job_id, names=wanted, after_step=0, max_points=PLOT_POINTS)
    chosen = wanted or [name for name in METRIC_NAMES if name in points]
    size = Size(width, height or 100 + 220 * max(1, len(panels_for(chosen))))
    title = f"{job.name} ({job.status}, epoch {job.epoch}/{job.spec['epochs']})"
    return _image(job_plot(title=title, series=points, names=chosen, size=size, fmt=fmt, log=log), fmt)


@router.get("/compare/plot.{fmt}", response_class=Response, responses=IMAGE_RESPONSES)
def plot_comparison(
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
    lines = []
    for job_id in job_ids:
        job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
        series = repository.read_metrics(session, job_id=job_id, names=[metric], after_step=0, max_points=PLOT_POINTS)
        lines.append((f"{job.name} ({job.id[:8]})", series.get(metric, Series())))
    return _image(compare_plot(metric=metric, lines=lines, size=Size(width, height), fmt=fmt, log=log), fmt)
