"""POST /jobs/{id}/predict on the real stack (`gradyard api` and a worker as processes, SQLite, a private Redis):
one row at a time (keyed, owner-checked, over keep-alive HTTP), and batches of 1,000 rows as JSON, as .npy and as an
Arrow IPC stream; then where the time of a 1,000-row JSON request goes, in-process.

Run: make bench-predict   (or .venv/bin/python -m benchmarks.bench_predict --help)

The model is the digits MLP the issue's anchors used (64 -> 128 -> 10), trained by the worker. Its files are the
worker's export; a worker that writes none (before the export lands) has them written here instead, by the tests'
helper (a model of the same shape exported with torch.onnx.export(dynamo=True)). Numbers go to
test-artifacts/bench/predict.json.
"""

import argparse
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from benchmarks.harness import use_database
from benchmarks.stack import bench_stack, machine, percentile, process_cpu_seconds, write_results
from core import repository
from core.db import session_scope
from core.model_card import ModelCard
from core.prediction.answer import answer
from core.prediction.rows import decode_json
from core.store import MODEL_CARD, get_store, model_key
from service.predict import ARROW_STREAM, NPY, Sessions
from tests.e2e.stack import Stack

SPEC: dict[str, Any] = {
    "name": "bench-predict-digits-mlp",
    "dataset": {"name": "digits", "val_fraction": 0.2, "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [128]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 5,
    "device": "cpu",
}
BATCH = 1000
console = Console(width=140)


def _install_here(stack: Stack, job_id: str) -> None:
    """Write the model files and mark the model ready, from this process (for a worker that exports nothing)."""
    from core.settings import get_settings
    from tests.service import trained

    os.environ["GRADYARD_ARTIFACT_DIR"] = stack.env["GRADYARD_ARTIFACT_DIR"]
    get_settings.cache_clear()
    get_store.cache_clear()
    with use_database(stack.env["GRADYARD_DATABASE_URL"]):
        trained.install("digits", job_id, hidden=128)
        with session_scope() as session:
            repository.set_model_state(session, job_id=job_id, status="ready")


def ready_model(stack: Stack, *, wait: float) -> tuple[str, str]:
    """A trained digits MLP with a ready model: (job id, who wrote its files)."""
    job_id = stack.submit(SPEC)
    job = stack.wait(job_id, timeout=300)
    assert job["status"] == "succeeded", job
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        model = stack.job(job_id)["model"]
        if model["status"] == "ready":
            return job_id, "worker"
        if model["status"] == "unavailable":
            raise RuntimeError(f"the worker could not export the model: {model['detail']}")
        time.sleep(0.1)
    _install_here(stack, job_id)
    return job_id, "this benchmark (the worker wrote none)"


def npy(array: np.ndarray) -> bytes:
    """The array as .npy bytes."""
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def arrow(array: np.ndarray) -> bytes:
    """The rows as an Arrow IPC stream of one `input` column of fixed-size lists."""
    column = pa.FixedSizeListArray.from_arrays(pa.array(array.reshape(-1)), array[0].size)
    table = pa.table({"input": column})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def timed(
    stack: Stack, method: str, path: str, body: bytes, media_type: str, *, repeats: int, warmup: int
) -> tuple[list[float], float]:
    """Seconds per request (each checked to be a 200), and the API process's CPU seconds per request."""
    headers = {"Content-Type": media_type} if body else {}
    times, api = [], stack.processes[0].pid
    for i in range(warmup + repeats):
        if i == warmup:
            cpu = process_cpu_seconds(api)
        started = time.perf_counter()
        response = stack.http.request(method, path, content=body, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:500]}")
        if i >= warmup:
            times.append(elapsed)
    return times, (process_cpu_seconds(api) - cpu) / repeats


def _row(name: str, rows: int, body: bytes, times: list[float], cpu: float) -> dict[str, Any]:
    p50 = percentile(times, 0.5)
    return {
        "case": name,
        "rows": rows,
        "body_bytes": len(body),
        "requests": len(times),
        "p50_ms": p50 * 1000,
        "p95_ms": percentile(times, 0.95) * 1000,
        "rows_per_s": rows / p50 if rows else 0.0,
        "api_cpu_ms": cpu * 1000,
    }


def over_http(stack: Stack, job_id: str, *, single: int, batches: int) -> list[dict[str, Any]]:
    """One row as JSON; 1,000 rows as JSON, .npy and Arrow; one client over keep-alive HTTP. GET /healthz first,
    the floor: what any request costs on this machine now (no key, no query, no body)."""
    x = np.random.default_rng(0).integers(0, 17, (BATCH, 1, 8, 8)).astype(np.float32)
    path = f"/jobs/{job_id}/predict"
    one = orjson.dumps({"inputs": x[:1].astype(int).tolist()})
    cases = [
        ("floor: GET /healthz", "GET", "/healthz", 0, b"", "", single),
        ("1 row, JSON", "POST", path, 1, one, "application/json", single),
        (
            "1,000 rows, JSON",
            "POST",
            path,
            BATCH,
            orjson.dumps({"inputs": x.astype(int).tolist()}),
            "application/json",
            batches,
        ),
        ("1,000 rows, .npy", "POST", path, BATCH, npy(x), NPY, batches),
        ("1,000 rows, Arrow", "POST", path, BATCH, arrow(x), ARROW_STREAM, batches),
    ]
    answers = {stack.http.post(path, content=c[4], headers={"Content-Type": c[5]}).content for c in cases if c[3] > 1}
    assert len(answers) == 1, "the three bodies must give the same answer"
    results = []
    for name, method, where, rows, body, kind, repeats in cases:
        times, cpu = timed(stack, method, where, body, kind, repeats=repeats, warmup=max(20, repeats // 10))
        results.append(_row(name, rows, body, times, cpu))
    return results


def _best(seconds: Callable[[], float], repeats: int = 50) -> float:
    return percentile([seconds() for _ in range(repeats)], 0.5)


def in_process(stack: Stack, job_id: str) -> dict[str, float]:
    """Where a 1,000-row JSON request's time goes, without HTTP: parse and encode the rows, run ONNX Runtime, write
    the answer (p50 ms of each)."""
    root = Path(stack.env["GRADYARD_ARTIFACT_DIR"])
    card = ModelCard.model_validate_json((root / model_key(job_id, MODEL_CARD)).read_bytes())
    session = Sessions(1 << 30).get(("bench", job_id, "final"), root / model_key(job_id, "final.onnx"))
    x = np.random.default_rng(0).integers(0, 17, (BATCH, 1, 8, 8))
    body = orjson.dumps({"inputs": x.tolist()})
    encoded = decode_json(body, card, max_rows=BATCH)
    outputs = dict(zip(["prediction", "probabilities"], session.run(None, {"input": encoded}), strict=True))

    def clock(work: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            work()
            return time.perf_counter() - started

        return run

    return {
        "orjson.loads_ms": _best(clock(lambda: orjson.loads(body))) * 1000,
        "parse_and_encode_ms": _best(clock(lambda: decode_json(body, card, max_rows=BATCH))) * 1000,
        "onnxruntime_run_ms": _best(clock(lambda: session.run(None, {"input": encoded}))) * 1000,
        "answer_json_ms": _best(clock(lambda: answer(card, outputs))) * 1000,
        "onnxruntime_1_row_ms": _best(clock(lambda: session.run(None, {"input": encoded[:1]})), 500) * 1000,
    }


def show(results: list[dict[str, Any]], parts: dict[str, float]) -> None:
    """Print the tables."""
    table = Table(title="POST /jobs/{id}/predict over HTTP (one client, keep-alive)")
    for column in ("case", "body bytes", "requests", "p50 ms", "p95 ms", "rows/s", "API CPU ms/request"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for r in results:
        table.add_row(
            r["case"],
            f"{r['body_bytes']:,}",
            str(r["requests"]),
            f"{r['p50_ms']:.2f}",
            f"{r['p95_ms']:.2f}",
            f"{r['rows_per_s']:,.0f}",
            f"{r['api_cpu_ms']:.2f}",
        )
    console.print(table)
    console.print({name: round(ms, 3) for name, ms in parts.items()})


def main() -> None:
    """Start the stack, train the model, measure, print and write the numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=2000, help="one-row requests to time")
    parser.add_argument("--batches", type=int, default=200, help="1,000-row requests to time, per body")
    parser.add_argument("--export-wait", type=float, default=30.0, help="seconds to wait for the worker's export")
    args = parser.parse_args()
    with bench_stack() as stack:
        job_id, written_by = ready_model(stack, wait=args.export_wait)
        results = over_http(stack, job_id, single=args.single, batches=args.batches)
        parts = in_process(stack, job_id)
    show(results, parts)
    console.print(f"model files written by: {written_by}")
    write_results("predict", {"machine": machine(), "model_files_by": written_by, "http": results, "in_process": parts})


if __name__ == "__main__":
    main()
