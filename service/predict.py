"""Predictions in the API with ONNX Runtime (no torch): one inference session per (job, which) model, kept in a
least-recently-used cache bounded by the ONNX files' bytes, each run on one thread so a request never takes every
core; the request body read by its Content-Type and checked against the model's card (core.prediction)."""

import logging
import threading
import time
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
# Work that may run on the event loop: less than a hop to a thread and back costs on a busy machine. A body this small
# always may (about 40 rows of 8x8 images as JSON); a larger one when its model's past requests say it is quick.
QUICK_SECONDS = 0.002
QUICK_BODY_BYTES = 8192
CostKey = tuple[SessionKey, str]  # a model, and the Content-Type of the bodies it was timed on


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


# Seconds per body byte of each model's large requests, a moving average: JSON costs ~75 ns a byte to parse, an .npy
# body next to nothing, and the model's own run anything from a few ns a byte (an MLP) to far more (a ResNet).
_costs: Lru[CostKey, float] = Lru(4096)


def quick(card: ModelCard, *, which: Which, body: bytes, media_type: str | None) -> bool:
    """Whether a prediction may run on the event loop: its model is loaded, and the body is small or the model's
    past requests of this kind say it takes less than QUICK_SECONDS (a first large one goes to a thread)."""
    key = _session_key(card, which)
    if not get_sessions().holds(key):
        return False
    if len(body) <= QUICK_BODY_BYTES:
        return True
    per_byte = _costs.get((key, media_type or JSON))
    return per_byte is not None and per_byte * len(body) <= QUICK_SECONDS


def predict(card: ModelCard, *, which: Which, body: bytes, media_type: str | None) -> bytes:
    """The answer's JSON for a request body: decoded and checked, run through the model's ONNX graph (a large
    body's time is noted for `quick`)."""
    started = time.perf_counter()
    answered = _predict(card, which=which, body=body, media_type=media_type)
    if len(body) > QUICK_BODY_BYTES:
        key: CostKey = (_session_key(card, which), media_type or JSON)
        per_byte, before = (time.perf_counter() - started) / len(body), _costs.get(key)
        _costs.put(key, per_byte if before is None else 0.8 * before + 0.2 * per_byte)
    return answered


def _predict(card: ModelCard, *, which: Which, body: bytes, media_type: str | None) -> bytes:
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
