"""Predictions in the API with ONNX Runtime (no torch): one inference session per (job, which) model, kept in a
least-recently-used cache bounded by the ONNX files' bytes, each run on one thread so a request never takes every
core; the request body read by its Content-Type and checked against the model's card (core.prediction)."""

import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import onnxruntime as ort

from core.model_card import ONNX_INPUT, ONNX_PREDICTION, ModelCard, Which
from core.prediction.answer import answer
from core.prediction.binary import decode_arrow, decode_npy
from core.prediction.errors import ModelNotServable, PredictionRejected
from core.prediction.rows import decode_json
from core.prediction.tensors import Array
from core.settings import get_settings
from core.store import get_store
from service.lru import Lru
from service.model_files import model_path

log = logging.getLogger(__name__)
NPY = "application/x-npy"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
JSON = "application/json"
Decoder = Callable[[bytes, ModelCard], Array]
SessionKey = tuple[str, str, Which]  # store root, job id, which weights
QUICK_BODY_BYTES = 8192  # about 40 rows of 8x8 images as JSON: well under a millisecond of work


def _options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    # One thread per run: the API serves many requests at once (each on a thread of its pool), and a big batch must
    # not take the cores the other requests need. No spinning: an idle pool thread must not burn a core either.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class Sessions:
    """Loaded ONNX models, the least recently used dropped once their files' bytes pass the capacity; one load at a
    time per model, so a burst of first requests loads it once."""

    def __init__(self, capacity_bytes: int) -> None:
        self._cache: Lru[SessionKey, ort.InferenceSession] = Lru(capacity_bytes)
        self._lock = threading.Lock()
        self._loading: dict[SessionKey, threading.Lock] = {}

    def get(self, key: SessionKey, path: Path) -> ort.InferenceSession:
        """The session of this model, loaded from its file on first use."""
        session = self._cache.get(key)
        if session is not None:
            return session
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            session = self._cache.get(key)
            if session is None:
                session = _load(path)
                self._cache.put(key, session, weight=path.stat().st_size)
        with self._lock:
            self._loading.pop(key, None)
        return session

    def holds(self, key: SessionKey) -> bool:
        """Whether this model is loaded now."""
        return self._cache.get(key) is not None

    def clear(self) -> None:
        """Drop every loaded model."""
        self._cache.clear()

    @property
    def loaded_bytes(self) -> int:
        """The ONNX files' bytes of the models held now."""
        return self._cache.weight


def _load(path: Path) -> ort.InferenceSession:
    try:
        session = ort.InferenceSession(str(path), sess_options=_options(), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime's errors derive from Exception only
        log.warning("ONNX file %s cannot be loaded: %s", path, exc)
        raise ModelNotServable(
            f"the model's ONNX file cannot be loaded: {exc}",
            status=409,
            title="Model unavailable",
            kind="model-unavailable",
        ) from exc
    names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if names[0] != [ONNX_INPUT] or ONNX_PREDICTION not in names[1]:
        raise ModelNotServable(
            f"the model's ONNX graph takes {names[0]} and gives {names[1]}, not '{ONNX_INPUT}' and '{ONNX_PREDICTION}'",
            status=409,
            title="Model unavailable",
            kind="model-unavailable",
        )
    return session


@lru_cache
def get_sessions() -> Sessions:
    """The process's loaded models, bounded by GRADYARD_PREDICT_CACHE_BYTES."""
    return Sessions(get_settings().predict_cache_bytes)


def decoder(media_type: str | None) -> Callable[..., Array]:
    """How a body of this Content-Type is read (JSON when none is sent); 415 naming the three it may be."""
    if (
        media_type is None
        or media_type == JSON
        or (media_type.startswith("application/") and media_type.endswith("+json"))
    ):
        return decode_json
    if media_type == NPY:
        return decode_npy
    if media_type == ARROW_STREAM:
        return decode_arrow
    raise PredictionRejected(
        f"a prediction body is {JSON}, {NPY} or {ARROW_STREAM}, not '{media_type}'",
        status=415,
        loc=("header", "content-type"),
    )


def _session_key(card: ModelCard, which: Which) -> SessionKey:
    return (str(get_store().root), card.job_id, which)


def quick(card: ModelCard, *, which: Which, body: bytes) -> bool:
    """Whether a prediction is quick enough to run on the event loop: a small body, for a model already loaded (a
    thread hop costs more than the work; a large body or a first load goes to a thread)."""
    return len(body) <= QUICK_BODY_BYTES and get_sessions().holds(_session_key(card, which))


def predict(card: ModelCard, *, which: Which, body: bytes, media_type: str | None) -> bytes:
    """The answer's JSON for a request body: decoded and checked, run through the model's ONNX graph."""
    read = decoder(media_type)
    path, _ = model_path(card, which=which, fmt="onnx")
    x = read(body, card, max_rows=get_settings().max_predict_rows)  # checked before a model is loaded for it
    session = get_sessions().get(_session_key(card, which), path)
    try:
        values = session.run(None, {ONNX_INPUT: x})
    except Exception as exc:  # ONNX Runtime's errors derive from Exception only
        log.warning("the model of job %s failed on a request: %s", card.job_id, exc)
        raise PredictionRejected(f"the model could not run on these rows: {exc}") from exc
    outputs = {o.name: value for o, value in zip(session.get_outputs(), values, strict=True)}
    return answer(card, outputs)
