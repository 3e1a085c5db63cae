"""A trained model's routes: download its files, the bundle with its provenance, and a rerun of its job."""

import copy
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Query, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from core import repository
from core.errors import JobStillActive
from core.merge_patch import merge_patch
from core.model_card import ModelCard, ModelFormat, Which
from core.spec import JobSpec
from core.states import TERMINAL_STATUSES
from core.store import MODEL_CARD, get_store, model_filename, model_key
from core.tables import Job
from service.auth import PrincipalDep
from service.bundle import Member, tar_gz
from service.deps import SessionDep
from service.model_files import download_name, model_path, ready_card
from service.routes.jobs import answer_submission
from service.routes.metrics import etag_matches, history_csv
from service.schemas import JobOut

router = APIRouter(prefix="/jobs", tags=["models"])
ENVIRONMENT = "environment.json"
BINARY = "application/octet-stream"
GZIP = "application/gzip"
MERGE_PATCH = "application/merge-patch+json"


class WholeFile(FileResponse):
    """A file answered whole: a Range header is ignored, so every answer is the 200 the document describes (a
    model file is small enough to fetch again; Starlette's range errors would not be problem+json)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.headers["accept-ranges"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file, as if no range was asked for."""
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in (b"range", b"if-range")]
        await super().__call__({**scope, "headers": headers}, receive, send)


@router.get("/{job_id}/model", response_class=FileResponse)
def download_model(
    job_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    format: Annotated[ModelFormat, Query(description="safetensors (weights, no pickle) or onnx (the whole graph).")] = (
        "safetensors"
    ),
    which: Annotated[Which, Query(description="final, or best by the job's tracked metric (early_stopping).")] = (
        "final"
    ),
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """A succeeded job's trained model as a file: its safetensors weights (load them with model.json, no pickle) or
    its ONNX graph (raw inputs in; normalisation and the output head inside). The ETag is the file's sha256."""
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    path, sha256 = model_path(ready_card(job), which=which, fmt=format)
    headers = {"ETag": f'"{sha256}"', "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    filename = download_name(job, f"-{model_filename(which, format)}")
    return WholeFile(path, media_type=BINARY, filename=filename, headers=headers)


def _members(job: Job, card: ModelCard, metrics_csv: bytes) -> list[Member]:
    store, folder = get_store(), download_name(job, "")
    members = []
    for which, weights in card.weights.items():
        formats: list[ModelFormat] = ["safetensors", "onnx"] if weights.onnx is not None else ["safetensors"]
        for fmt in formats:
            path, _ = model_path(card, which=which, fmt=fmt)
            members.append(Member(f"{folder}/{model_filename(which, fmt)}", path=path))
    for name in (MODEL_CARD, ENVIRONMENT):
        path = store.local_path(model_key(job.id, name))
        if path.is_file():
            members.append(Member(f"{folder}/{name}", path=path))
    spec = orjson.dumps(job.spec, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    members.append(Member(f"{folder}/spec.json", data=spec))
    members.append(Member(f"{folder}/metrics.csv", data=metrics_csv))
    return members


@router.get("/{job_id}/bundle", response_class=StreamingResponse)
def download_bundle(job_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """A succeeded job's model with its provenance, as a .tar.gz: the model files, model.json, environment.json
    (versions, device, seed, determinism), spec.json (the resolved spec; an upload's sha256 in
    dataset.resolved) and metrics.csv (name, step, epoch, value, time)."""
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    card = ready_card(job)
    history = repository.read_metrics(session, job_id=job.id, names=None, after_step=0)
    members = _members(job, card, history_csv(history))
    mtime = job.finished_at.timestamp() if job.finished_at else 0.0
    disposition = f'attachment; filename="{download_name(job, ".tar.gz")}"'
    return StreamingResponse(
        tar_gz(members, mtime=mtime), media_type=GZIP, headers={"Content-Disposition": disposition}
    )


def rerun_spec(job: Job, patch: dict[str, Any] | None) -> dict[str, Any]:
    """The job's resolved spec to submit again, an upload pinned by its bytes' sha256 (resolved again at submit),
    with the merge patch applied."""
    spec = copy.deepcopy(job.spec)
    dataset = spec.get("dataset")
    if isinstance(dataset, dict) and dataset.get("name") == "upload" and dataset.get("resolved"):
        dataset["id"] = "sha256:" + dataset.pop("resolved")["sha256"]
    patched = merge_patch(spec, patch) if patch is not None else spec
    return dict(patched) if isinstance(patched, dict) else {}


def _validated(spec: dict[str, Any]) -> JobSpec:
    """The spec as POST /jobs validates its body, with the same errors (located under `body`)."""
    try:
        return JobSpec.model_validate(spec, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


@router.post(
    "/{job_id}/rerun",
    status_code=status.HTTP_201_CREATED,
    response_model=JobOut,
    responses={200: {"model": JobOut, "description": "The job an earlier request with this Idempotency-Key made."}},
)
def rerun_job(
    job_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    patch: Annotated[
        dict[str, Any] | None,
        Body(
            description='A JSON merge patch (RFC 7396) for the resolved spec, e.g. {"optimizer": {"lr": 0.01}}; '
            "null removes a key."
        ),
    ] = None,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> JobOut | Response:
    """Run an ended job again: its resolved spec (same seed, the same dataset bytes by their sha256), changed by an
    optional merge patch, validated and admitted as POST /jobs does. The new job records `rerun_of`."""
    job = repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter())
    if job.status not in TERMINAL_STATUSES:
        raise JobStillActive(f"job {job.id} is {job.status}: rerun it once it has ended")
    spec = _validated(rerun_spec(job, patch))
    return answer_submission(session, spec, principal, response, idempotency_key, rerun_of=job.id)
