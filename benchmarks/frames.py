"""A history into a pandas DataFrame through each Python client: gradyard's (Arrow, and the JSON path it replaced) and
MLflow's `MlflowClient.get_metric_history` (run in .venv-mlflow's own Python, timed there the same way)."""

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from benchmarks import harness
from benchmarks.harness import Timing
from client import Client
from client.table import to_frame

ARROW_FRAME = "client as_frame (Arrow -> pandas)"
JSON_FRAME = "client as_frame before (stdlib json, Python rows)"
ORJSON_DICT = "client metrics() columns (orjson)"
LABELS = (ARROW_FRAME, JSON_FRAME, ORJSON_DICT)
MLFLOW_PYTHON = harness.ROOT / ".venv-mlflow" / "bin" / "python"


def frame_sized(frame: Any) -> tuple[int, int]:
    """A frame's size in memory and its rows."""
    return int(frame.memory_usage(deep=False).sum()), len(frame)


def columns_sized(metrics: dict[str, dict[str, list[Any]]]) -> tuple[int, int]:
    """No byte count for parsed columns; the points of the longest series."""
    return 0, max((len(series["step"]) for series in metrics.values()), default=0)


def bench_client(http: httpx.Client, job_id: str, *, name: str, budget_s: float) -> dict[str, Timing]:
    """Each way of getting the history into Python through gradyard's client, timed end to end (HTTP included)."""
    key = str(http.headers["Authorization"]).removeprefix("Bearer ")
    path = f"/jobs/{job_id}/metrics"
    with Client(str(http.base_url), key) as api:

        def before() -> Any:  # the client as it was: httpx's .json() (the standard library) and a row per point
            body = api._request("GET", path, params={"after_step": 0}).json()["metrics"]
            return to_frame({name: body[name]})

        calls: dict[str, tuple[Callable[[], Any], Callable[[Any], tuple[int, int]]]] = {
            ARROW_FRAME: (lambda: api.metrics(job_id, names=[name], as_frame=True), frame_sized),
            JSON_FRAME: (before, frame_sized),
            ORJSON_DICT: (lambda: api.metrics(job_id, names=[name]), columns_sized),
        }
        return {label: harness.measure(call, sized=sized, budget_s=budget_s) for label, (call, sized) in calls.items()}


MLFLOW_SCRIPT = """
import json, sys, time
import pandas as pd
from mlflow.tracking import MlflowClient
uri, run_id, key, budget = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
def frame():
    history = client.get_metric_history(run_id, key)
    return pd.DataFrame({"step": [m.step for m in history], "value": [m.value for m in history],
                         "timestamp": [m.timestamp for m in history]}).set_index("step")
start = time.perf_counter(); rows = len(frame()); warm = time.perf_counter() - start
samples = []
for _ in range(max(1, min(30, int(budget / max(warm, 1e-6))))):
    start = time.perf_counter(); frame(); samples.append((time.perf_counter() - start) * 1000)
print(json.dumps({"samples_ms": samples, "points": rows}))
"""


def bench_mlflow_client(base_url: str, run_id: str, *, name: str, budget_s: float) -> Timing | None:
    """MlflowClient.get_metric_history into a DataFrame, in .venv-mlflow (None when that venv is missing)."""
    if not MLFLOW_PYTHON.exists():
        return None
    argv = [str(MLFLOW_PYTHON), "-c", MLFLOW_SCRIPT, base_url, run_id, name, str(budget_s)]
    out = subprocess.run(argv, check=True, capture_output=True, timeout=3600, stdin=subprocess.DEVNULL)
    result = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return Timing(result["samples_ms"], 0, result["points"])


def check_same_frame(http: httpx.Client, job_id: str, *, name: str) -> None:
    """Refuse to time a frame that differs from the JSON answer (the Arrow path must not trade correctness)."""
    key = str(http.headers["Authorization"]).removeprefix("Bearer ")
    with Client(str(http.base_url), key) as api:
        frame = api.metrics(job_id, names=[name], as_frame=True)
    body = orjson.loads(http.get(f"/jobs/{job_id}/metrics", params={"names": name}).content)["metrics"][name]
    same = len(frame) == len(body["value"]) and all(
        a == b or (b is None and a != a) for a, b in zip(frame[name].tolist(), body["value"], strict=True)
    )
    if not same or frame.index.tolist() != body["step"]:
        sys.exit(f"job {job_id}: the Arrow frame differs from the JSON answer")
