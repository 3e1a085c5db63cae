"""A succeeded job's model files, written by its worker once the job is marked succeeded (so training time stays
the training): the weights as safetensors (final; best too when the job tracked a metric), each as a checked ONNX
file with the preprocessing and the head inside, `model.json` and `environment.json`, all in `models/<job_id>/`.

Each file is written to a temporary path in the store and committed (renamed) into place; `model.json` goes last.
The job's model is then `ready` (a model with no ONNX file is still ready: the card says why), or `unavailable`
with the reason when anything else fails. A failed export never fails the job: it has succeeded already.
"""

import hashlib
import json
import logging
import time

import torch
from safetensors.torch import save

from core import repository
from core.db import session_scope
from core.facts import head_kind
from core.model_card import OnnxFile, Weights, Which
from core.spec import JobSpec
from core.states import ModelStatus
from core.store import MODEL_CARD, ArtifactStore, get_store, model_filename, model_key
from worker.describe import check_features, describe
from worker.environment import environment
from worker.onnx_export import OnnxModel, export_onnx
from worker.outage import through_outage
from worker.retention import ENVIRONMENT, held_bytes
from worker.serving import Served, has_probabilities, on_cpu
from worker.trained import Trained, cpu_weights

log = logging.getLogger(__name__)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _put_weights(store: ArtifactStore, job_id: str, which: Which, state: dict[str, torch.Tensor]) -> tuple[str, int]:
    data = save(state, metadata={"job_id": job_id, "which": which})
    store.put_bytes(model_key(job_id, model_filename(which, "safetensors")), data)
    return _sha256(data), len(data)


def _put_onnx(store: ArtifactStore, job_id: str, which: Which, exported: OnnxModel) -> OnnxFile:
    store.put_bytes(model_key(job_id, model_filename(which, "onnx")), exported.data)
    return OnnxFile(
        sha256=_sha256(exported.data),
        bytes=len(exported.data),
        opset=exported.opset,
        max_abs_diff=exported.max_abs_diff,
        checked_rows=exported.checked_rows,
    )


def served_model(spec: JobSpec, trained: Trained) -> Served:
    """The trained model as served (raw inputs in, predictions out), on the CPU."""
    kind = head_kind(spec.loss, trained.facts.task)
    raw = trained.raw
    return Served(
        on_cpu(trained.model),
        trained.objective.readout,
        kind=kind,
        probabilities=has_probabilities(kind, spec.loss),
        pixel_divisor=raw.pixel_divisor,
        mean=raw.mean,
        scale=raw.scale,
    )


def _unavailable(refused: dict[Which, str]) -> str | None:
    if not refused:
        return None
    reasons = set(refused.values())
    if len(reasons) == 1 and len(refused) > 1:
        return reasons.pop()
    return "; ".join(f"{which} weights: {why}" for which, why in refused.items())


def write_model_files(store: ArtifactStore, job_id: str, spec: JobSpec, trained: Trained) -> str | None:
    """Write the job's model folder; why there is no ONNX file, or None when every set of weights has one."""
    device = next(trained.model.parameters(), torch.empty(0)).device  # before the model moves to the CPU
    store.delete_folder(model_key(job_id, ""))  # commits keep an existing file: start from an empty folder
    served = served_model(spec, trained)
    sets: dict[Which, tuple[dict[str, torch.Tensor], int]] = {"final": (cpu_weights(served.model), trained.epoch)}
    if trained.best is not None:
        sets["best"] = (trained.best.weights, trained.best.epoch)
    exported = export_onnx(served, trained.raw.sample, {which: state for which, (state, _) in sets.items()})
    weights: dict[Which, Weights] = {}
    refused: dict[Which, str] = {}
    for which, (state, epoch) in sets.items():
        sha256, size = _put_weights(store, job_id, which, state)
        onnx = exported[which]
        if isinstance(onnx, str):
            refused[which] = onnx
        best = trained.best if which == "best" else None
        metric, value = (best.metric, best.value) if best else (None, None)
        weights[which] = Weights(
            sha256=sha256,
            bytes=size,
            epoch=epoch,
            metric=metric,
            value=value,
            onnx=None if isinstance(onnx, str) else _put_onnx(store, job_id, which, onnx),
        )
    card = describe(job_id, spec, trained, weights=weights, onnx_unavailable=_unavailable(refused))
    check_features(card)
    store.put_bytes(model_key(job_id, ENVIRONMENT), json.dumps(environment(spec, device), indent=2).encode())
    store.put_bytes(model_key(job_id, MODEL_CARD), card.model_dump_json(indent=2).encode())
    return card.onnx_unavailable


def _record(job_id: str, status: ModelStatus, detail: str | None) -> None:
    def write() -> bool:
        with session_scope() as session:
            held = held_bytes(job_id)
            return repository.set_model_state(session, job_id=job_id, status=status, detail=detail, bytes_held=held)

    through_outage(write, what=f"job {job_id}: model {status}")


def export_model(job_id: str, spec: JobSpec, trained: Trained) -> ModelStatus:
    """Write a succeeded job's model files and record the model's state; never raises (the job has succeeded)."""
    started, store = time.monotonic(), get_store()
    try:
        no_onnx = write_model_files(store, job_id, spec, trained)
    except Exception as exc:
        log.exception("job %s: the model export failed", job_id)
        detail = f"the model export failed: {type(exc).__name__}: {exc}"
        try:
            store.delete_folder(model_key(job_id, ""))  # no half-written folder is ever served
            _record(job_id, "unavailable", detail[:1000])
        except Exception:
            log.exception("job %s: recording the failed export failed too", job_id)
        return "unavailable"
    try:
        _record(job_id, "ready", None if no_onnx is None else f"no ONNX file: {no_onnx}")
    except Exception:
        log.exception("job %s: recording the exported model failed", job_id)
        return "unavailable"
    log.info("job %s: model files written in %.2fs", job_id, time.monotonic() - started)
    return "ready"
