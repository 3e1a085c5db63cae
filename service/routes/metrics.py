"""The metric history route."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from core import repository
from core.metrics import METRIC_NAMES, downsample
from service.auth import PrincipalDep
from service.deps import SessionDep
from service.problems import problem
from service.schemas import MetricsOut

router = APIRouter(prefix="/jobs", tags=["metrics"])
MAX_POINTS_LIMIT = 100_000


class OrjsonResponse(Response):
    """JSON encoded by orjson: fast on long arrays, and NaN or infinity become null."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode with orjson."""
        return orjson.dumps(content)


def names_problem(wanted: list[str]) -> str | None:
    """Why these metric names cannot be served, or None when they can."""
    if not wanted:
        return "names is empty: give comma-separated metric names"
    unknown = [name for name in wanted if name not in METRIC_NAMES]
    if unknown:
        return f"unknown metric {', '.join(map(repr, unknown))}; known: {', '.join(METRIC_NAMES)}"
    return None


@router.get("/{job_id}/metrics", response_model=MetricsOut, response_class=OrjsonResponse)
def read_metrics(
    job_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    names: Annotated[str | None, Query(max_length=1000, description="Comma-separated metric names.")] = None,
    after_step: Annotated[int, Query(ge=0, description="Only points after this step (incremental polling).")] = 0,
    max_points: Annotated[
        int | None, Query(ge=2, le=MAX_POINTS_LIMIT, description="Downsample each series, keeping its shape.")
    ] = None,
) -> Response:
    """A job's metric history: one columnar series per metric (step, epoch, value, time)."""
    wanted = None if names is None else [name.strip() for name in names.split(",") if name.strip()]
    if wanted is not None and (why := names_problem(wanted)):
        errors = [{"loc": ["query", "names"], "msg": why, "type": "metric_unknown"}]
        return problem(422, "Invalid request", f"query.names: {why}", kind="validation", errors=errors)
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    series = repository.read_metrics(session, job_id=job_id, names=wanted, after_step=after_step)
    if max_points is not None:
        series = {name: downsample(s, max_points) for name, s in series.items()}
    body = {"job_id": job.id, "status": job.status, "metrics": {name: s.as_dict() for name, s in series.items()}}
    return OrjsonResponse(body)
