"""ONNX files: a served model (worker.serving) exported with `torch.onnx.export(dynamo=True)` and a dynamic batch
dimension, then run by ONNX Runtime on real rows and compared with torch. A file that does not match is not kept.

The model is traced once; each set of weights (final, best) is swapped into the traced program and optimized as
the exporter's own `optimize=True` would, which costs a fraction of a second where a second trace costs seconds."""

import contextlib
import functools
import importlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import onnxruntime
import onnxscript
import torch
from torch import nn

from core.model_card import ONNX_INPUT, ONNX_PREDICTION, ONNX_PROBABILITIES, Which
from worker.serving import Served

log = logging.getLogger(__name__)
TOLERANCE = 1e-4  # per value: absolute below 1, relative above (regression values come in the target's units)
CHECK_ROWS = 64
# The check runs torch, then ONNX Runtime, on up to CHECK_ROWS rows, in chunks while torch has taken under
# CHECK_SECONDS: all 64 for most models; about 16 for a resnet18 on 32x32 images on 2 CPU cores (1 s per 64).
CHECK_CHUNK = 8
CHECK_SECONDS = 0.25
# One export at a time per process: the exporter traces through process-wide state.
EXPORT_LOCK = threading.Lock()
# The exporter's own loggers report every graph pass it skips; a worker's log has no use for them.
_CHATTY_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx")


class OnnxRefused(Exception):
    """No ONNX file for this model; the message says why in one line."""


@dataclass(frozen=True)
class OnnxModel:
    """An exported, checked ONNX model: its bytes, its opset and how closely it matched torch."""

    data: bytes
    opset: int
    max_abs_diff: float
    checked_rows: int


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _output_names(served: Served) -> list[str]:
    return [ONNX_PREDICTION, ONNX_PROBABILITIES] if served.probabilities else [ONNX_PREDICTION]


def _registry_once() -> None:
    """Make torch.onnx.export(dynamo=True) build its registry of ONNX functions once per process, not per export.

    Each export builds the registry anew, and building it parses the source of about 500 onnxscript functions: about
    2.5 s of every export on 2 cores, for a table that cannot change in a running process and that an export only
    reads. With the pinned torch the builder lives where looked for here; if it moves, exports still work, only
    slower (and the ONNX check vouches for every file either way).
    """
    try:
        registration = importlib.import_module("torch.onnx._internal.exporter._registration")
    except ImportError:
        return
    registry = getattr(registration, "ONNXRegistry", None)
    build = getattr(registry, "from_torchlib", None)
    if registry is not None and build is not None and not hasattr(build, "cache_info"):
        registry.from_torchlib = staticmethod(functools.cache(build))


def _trace(module: nn.Module, example: torch.Tensor, outputs: list[str]) -> torch.onnx.ONNXProgram:
    """The module's ONNX program, unoptimized: its initializers keep the module's state-dict names, so another set
    of weights can be swapped in without a second trace."""
    _registry_once()
    with torch.no_grad(), _quiet():
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            input_names=[ONNX_INPUT],
            output_names=outputs,
            verbose=False,
            optimize=False,
        )
    assert program is not None  # dynamo=True always returns the program
    return program


def _serialize(program: torch.onnx.ONNXProgram, state: dict[str, torch.Tensor]) -> tuple[bytes, int]:
    """The program with these weights, optimized as torch.onnx.export(optimize=True) does, serialized; its opset."""
    with _quiet():
        program.apply_weights(state)
        proto = onnxscript.optimizer.optimize(program.model_proto)
    opset = next((entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), 0)
    return proto.SerializeToString(), int(opset)


def _as_tuple(value: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return value if isinstance(value, tuple) else (value,)


@torch.no_grad()
def _torch_outputs(served: Served, rows: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Torch's outputs on the first rows, a chunk at a time while the check's time lasts; how many rows that was."""
    chunks: list[tuple[torch.Tensor, ...]] = []
    started, done = time.monotonic(), 0
    while done < len(rows) and (done == 0 or time.monotonic() - started < CHECK_SECONDS):
        chunks.append(_as_tuple(served(torch.from_numpy(rows[done : done + CHECK_CHUNK]))))
        done = min(done + CHECK_CHUNK, len(rows))
    return [torch.cat(parts).numpy() for parts in zip(*chunks, strict=True)], done


def _compare(data: bytes, served: Served, rows: np.ndarray, outputs: list[str]) -> tuple[float, int]:
    """The largest difference between ONNX Runtime's outputs and torch's, and on how many rows; OnnxRefused past
    tolerance."""
    expected, checked = _torch_outputs(served, rows)
    rows = rows[:checked]
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(outputs, {ONNX_INPUT: rows})
    worst = 0.0
    for name, mine, theirs in zip(outputs, got, expected, strict=True):
        if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
            raise OnnxRefused(
                f"ONNX Runtime's {name} is {mine.dtype} {list(mine.shape)}, torch's {theirs.dtype} {list(theirs.shape)}"
            )
        error = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
        worst = max(worst, float(error.max(initial=0.0)))
        if np.isnan(error).any() or (error > TOLERANCE * np.maximum(1.0, np.abs(theirs))).any():
            raise OnnxRefused(
                f"ONNX Runtime's {name} differs from torch's by up to {worst:.3g} on {len(rows)} rows "
                f"(the tolerance is {TOLERANCE:g})"
            )
    return worst, checked


def _checked(program: torch.onnx.ONNXProgram, served: Served, rows: np.ndarray) -> OnnxModel:
    """The served model's current weights as a checked ONNX model."""
    try:
        data, opset = _serialize(program, served.state_dict())
    except Exception as exc:
        raise OnnxRefused(f"the ONNX program could not take the weights: {_one_line(exc)}") from exc
    try:
        diff, checked = _compare(data, served, rows, _output_names(served))
    except OnnxRefused:
        raise
    except Exception as exc:  # ONNX Runtime could not load or run the file
        raise OnnxRefused(f"ONNX Runtime cannot run the exported file: {_one_line(exc)}") from exc
    return OnnxModel(data, opset, diff, checked)


def export_onnx(
    served: Served, rows: np.ndarray, states: Mapping[Which, dict[str, torch.Tensor]]
) -> dict[Which, OnnxModel | str]:
    """Each set of weights (loaded into the served model in turn) as a checked ONNX model, or why there is none in
    one line. One trace serves every set."""
    rows = np.ascontiguousarray(rows[:CHECK_ROWS])
    if len(rows) == 0:
        return dict.fromkeys(states, "no rows to check the ONNX file against torch with")
    # torch.export takes a batch of one as a fixed size: trace with two rows so the batch stays dynamic.
    example = torch.from_numpy(np.concatenate([rows, rows])[:2])
    results: dict[Which, OnnxModel | str] = {}
    with EXPORT_LOCK:
        try:
            program = _trace(served, example, _output_names(served))
        except Exception as exc:  # the exporter fails in many ways; the card says which, the job is unaffected
            log.warning("ONNX export failed", exc_info=True)
            return dict.fromkeys(states, f"torch.onnx.export failed: {_one_line(exc)}")
        for which, state in states.items():
            served.model.load_state_dict(state)
            try:
                results[which] = _checked(program, served, rows)
            except OnnxRefused as exc:
                results[which] = str(exc)
    return results


class _Tiny(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x * 2.0, dim=1).argmax(dim=1)


def warm_exporter() -> float:
    """Export a tiny module once, so a job's first export does not pay the exporter's imports and set-up; seconds."""
    started = time.monotonic()
    with EXPORT_LOCK:
        data, _ = _serialize(_trace(_Tiny(), torch.zeros(2, 3), [ONNX_PREDICTION]), {})
    onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return time.monotonic() - started
