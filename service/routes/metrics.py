"""The metric history route: columnar JSON, an Arrow IPC stream or CSV; incremental, downsampled, with an ETag once the
job has ended."""

import hashlib
import math
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from core import repository
from core.bounds import INT_MAX
from core.metrics import Series
from core.states import TERMINAL_STATUSES
from core.tables import Job
from service.arrow_history import ARROW_TYPE, history_arrow
from service.auth import PrincipalDep
from service.deps import SessionDep
from service.query import wanted_names
from service.schemas import MetricsOut

router = APIRouter(prefix="/jobs", tags=["metrics"])
MAX_POINTS_LIMIT = 100_000
CSV_TYPE = "text/csv"


class OrjsonResponse(JSONResponse):
    """JSON encoded by orjson: fast on long numpy columns, and NaN or infinity become null."""

    def render(self, content: Any) -> bytes:
        """Encode with orjson, numpy arrays included."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def history_csv(history: dict[str, Series]) -> bytes:
    """One row per point: name,step,epoch,value,time; a non-finite value is an empty field."""
    lines = ["name,step,epoch,value,time"]
    for name, series in history.items():
        values = [repr(v) if math.isfinite(v) else "" for v in series.value.tolist()]
        columns = zip(series.step.tolist(), series.epoch.tolist(), values, series.time.tolist(), strict=True)
        lines += [f"{name},{s},{e},{v},{t!r}" for s, e, v, t in columns]
    return ("\n".join(lines) + "\n").encode()


def _etag(job: Job, *parts: object) -> str | None:
    """A validator for an ended job's history in this representation; None while it can still change."""
    if job.status not in TERMINAL_STATUSES:
        return None
    stamp = f"{job.id}|{job.attempt}|{job.step}|{job.finished_at.isoformat() if job.finished_at else ''}"
    return '"' + hashlib.sha256("|".join([stamp, *map(str, parts)]).encode()).hexdigest()[:32] + '"'


def negotiated(format: str | None, accept: str | None) -> str:
    """The representation asked for: the `format` parameter, else the Accept header (Arrow, CSV), else JSON."""
    if format:
        return format
    if accept and ARROW_TYPE in accept:
        return "arrow"
    return "csv" if accept and CSV_TYPE in accept and "json" not in accept else "json"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get(
    "/{job_id}/metrics",
    response_model=MetricsOut,
    response_class=OrjsonResponse,
    responses={
        200: {
            "content": {
                ARROW_TYPE: {"schema": {"type": "string", "contentMediaType": ARROW_TYPE}},
                CSV_TYPE: {"schema": {"type": "string"}},
            },
            "description": (
                "The history: JSON; or an Arrow IPC stream (one record batch per series, columns name (dictionary of"
                " int16), step and epoch (int32), value and time (float64, value null where JSON has null); job_id and"
                " status in the schema metadata); or CSV."
            ),
        },
        304: {"description": "Not modified: the ended job's history is the one the If-None-Match ETag names."},
    },
)
def read_metrics(
    job_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    names: Annotated[str | None, Query(max_length=1000, description="Comma-separated metric names.")] = None,
    after_step: Annotated[
        int, Query(ge=0, le=INT_MAX, description="Only points after this step (incremental polling).")
    ] = 0,
    max_points: Annotated[
        int | None,
        Query(ge=2, le=MAX_POINTS_LIMIT, description="Downsample each series, keeping first, last, extremes, NaNs."),
    ] = None,
    format: Annotated[
        Literal["json", "arrow", "csv"] | None,
        Query(description="arrow for an Arrow IPC stream, csv for a download; else the Accept header decides."),
    ] = None,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """A job's metric history: one columnar series per metric (step, epoch, value, time), an Arrow stream, or CSV rows.

    An ended job's answer carries an ETag: sending it back in If-None-Match costs a 304 and no read of the points.
    """
    wanted = wanted_names(names)
    fmt = negotiated(format, accept)
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    etag = _etag(job, wanted, after_step, max_points, fmt)
    headers = {"Cache-Control": "no-cache"} | ({"ETag": etag} if etag else {})
    if etag and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    history = repository.read_metrics(
        session, job_id=job_id, names=wanted, after_step=after_step, max_points=max_points
    )
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{job.id}-metrics.csv"'
        return Response(history_csv(history), media_type=CSV_TYPE, headers=headers)
    if fmt == "arrow":
        return Response(
            history_arrow(history, job_id=job.id, status=job.status), media_type=ARROW_TYPE, headers=headers
        )
    body = {"job_id": job.id, "status": job.status, "metrics": {name: s.as_dict() for name, s in history.items()}}
    return OrjsonResponse(body, headers=headers)
