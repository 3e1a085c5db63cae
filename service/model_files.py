"""A job's model files as the API serves them: model.json read once and cached, and the gate every model route
passes (the job succeeded, its model is ready, the file asked for exists).

A ready model never changes (a rerun is a new job), so its card and its job's owner are kept in memory: a prediction
for a cached model costs no query but the key's.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from core import repository
from core.db import session_scope
from core.errors import JobNotFound
from core.keys import Principal
from core.model_card import ModelCard, ModelFormat, Which
from core.prediction.errors import ModelNotServable
from core.store import MODEL_CARD, get_store, model_filename, model_key
from core.tables import Job
from service.lru import Lru

log = logging.getLogger(__name__)
CACHED_MODELS = 1024  # cards (a few KB each) and owners of ready models kept per API process
EXPORT_RETRY_SECONDS = 2
LEGACY = "this job ended before gradyard kept trained models"


@dataclass(frozen=True)
class ReadyModel:
    """A ready model's card, and whose job it is."""

    owner_id: str | None
    card: ModelCard


_ready: Lru[tuple[str, str], ReadyModel] = Lru(CACHED_MODELS)


def _cache_key(job_id: str) -> tuple[str, str]:
    return (str(get_store().root), job_id)


def read_card(job_id: str) -> ModelCard | None:
    """A job's model.json as stored (None when it is missing or unreadable; the reason is logged)."""
    path = get_store().local_path(model_key(job_id, MODEL_CARD))
    try:
        return ModelCard.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        log.warning("model.json of job %s cannot be read: %s", job_id, exc)
        return None


def cached_card(job: Job) -> ModelCard | None:
    """The card of a job whose model is ready (read once, then from memory); None for any other job."""
    if job.status != "succeeded" or job.model_status != "ready":
        return None
    hit = _ready.get(_cache_key(job.id))
    if hit is not None:
        return hit.card
    card = read_card(job.id)
    if card is not None:
        _ready.put(_cache_key(job.id), ReadyModel(job.owner_id, card))
    return card


def ready_card(job: Job) -> ModelCard:
    """The card of a job whose model can be served; ModelNotServable saying why it cannot."""
    card = cached_card(job)
    if card is not None:
        return card
    if job.status != "succeeded":
        raise ModelNotServable(
            f"job {job.id} is {job.status}: a job has a model once it has succeeded",
            status=409,
            title="Job not succeeded",
            kind="job-not-succeeded",
        )
    if job.model_status == "exporting":
        raise ModelNotServable(
            f"job {job.id} succeeded and its model is being exported: retry in a few seconds",
            status=409,
            title="Model exporting",
            kind="model-exporting",
            retry_after=EXPORT_RETRY_SECONDS,
        )
    why = "its model.json cannot be read" if job.model_status == "ready" else (job.model_detail or LEGACY)
    raise ModelNotServable(
        f"job {job.id} has no model to serve: {why}", status=409, title="Model unavailable", kind="model-unavailable"
    )


def cached_card_for(*, job_id: str, principal: Principal) -> ModelCard | None:
    """The ready model of a job the caller may see, if it is in memory (JobNotFound for another's job); None when
    it is not (then `card_for` reads the database)."""
    cached = _ready.get(_cache_key(job_id))
    if cached is None:
        return None
    owner = principal.owner_filter()
    if owner is not None and cached.owner_id != owner:
        raise JobNotFound(job_id)
    return cached.card


def card_for(*, job_id: str, principal: Principal) -> ModelCard:
    """The ready model of a job the caller may see (JobNotFound for another's), from memory once cached."""
    cached = cached_card_for(job_id=job_id, principal=principal)
    if cached is not None:
        return cached
    with session_scope() as session:
        return ready_card(repository.get_job(session, job_id=job_id, owner_id=principal.owner_filter()))


def model_path(card: ModelCard, *, which: Which, fmt: ModelFormat) -> tuple[Path, str]:
    """Where one model file lies, and its sha256 (the card's, its ETag); ModelNotServable when there is none."""
    weights = card.weights.get(which)
    if weights is None:
        why = "it tracked no metric (no early_stopping in its spec), so it kept no best weights: ask for which=final"
        raise ModelNotServable(
            f"job {card.job_id} has no {which} weights: {why if which == 'best' else 'none were kept'}",
            status=404,
            title="Model not found",
            kind="model-not-found",
        )
    sha256 = weights.sha256
    if fmt == "onnx":
        if weights.onnx is None:
            raise ModelNotServable(
                f"job {card.job_id} has no ONNX file: {card.onnx_unavailable or 'its model was not exported'}",
                status=404,
                title="Model not found",
                kind="model-not-found",
            )
        sha256 = weights.onnx.sha256
    path = get_store().local_path(model_key(card.job_id, model_filename(which, fmt)))
    if not path.is_file():
        raise ModelNotServable(
            f"job {card.job_id}'s {model_filename(which, fmt)} is missing from the store",
            status=409,
            title="Model unavailable",
            kind="model-unavailable",
        )
    return path, sha256


def download_name(job: Job, suffix: str) -> str:
    """A file name for a download: the job's name made safe for a header and a file system, and its id's start."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", job.name).strip("-.")[:80] or "model"
    return f"{safe}-{job.id[:8]}{suffix}"
