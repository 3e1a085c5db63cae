"""What a model's export adds to a warm worker's job end, for every catalog model on the CPU.

Run: make bench-export   (or .venv/bin/python -m benchmarks.bench_export --help)

Each model runs in a fresh process warmed as a worker is (`worker.warm.warm_up`, which readies the exporter), so
its first export is what a warm worker's first job of that model pays. There it trains one small epoch, then writes
its model files (`worker.export.write_model_files`: safetensors, the ONNX trace, optimization and the check
against torch on 64 rows with ONNX Runtime, model.json, environment.json) three times: the first export, the same
again, and again with best weights too (a job that tracked a metric). Numbers go to test-artifacts/bench/export.json.
The issue's target: under 5 s added at the end of a job on a warm worker, for every catalog model.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks.harness import ROOT, console, write_results

IMAGES = {"name": "synthetic_images", "n_samples": 256, "val_fraction": 0.25, "normalize": "standard"}
# One realistic small job per catalog model (the digits MLP is the one the prediction targets use).
CASES: dict[str, dict[str, Any]] = {
    "linear": {"dataset": {"name": "diabetes", "normalize": "standard"}, "model": "linear", "loss": "mse"},
    "logistic": {"dataset": {"name": "breast_cancer", "normalize": "standard"}, "model": "logistic", "loss": "bce"},
    "mlp": {"dataset": {"name": "digits", "normalize": "standard"}, "model": {"name": "mlp", "hidden": [128]}},
    "cifar_cnn": {"dataset": IMAGES, "model": "cifar_cnn"},
    "lenet": {"dataset": IMAGES | {"channels": 1, "image_size": 28}, "model": "lenet"},
    "resnet18": {"dataset": IMAGES, "model": "resnet18"},
    "embedding_bag": {"dataset": {"name": "synthetic_tokens", "n_samples": 1000}, "model": "embedding_bag"},
}
TARGET_SECONDS = 5.0


def one(name: str) -> dict[str, Any]:
    """In this process: warm up as a worker does, train the model's case, time its exports."""
    os.environ["GRADYARD_ARTIFACT_DIR"] = tempfile.mkdtemp(prefix="bench-export-")
    # Imported here, in the child only: the parent process needs no torch.
    from core.spec import JobSpec
    from core.store import get_store
    from tests.worker.recording import CPU, ListRecorder
    from worker.engine import train
    from worker.export import write_model_files
    from worker.warm import warm_up

    started = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - started
    raw = {"loss": "cross_entropy", "optimizer": "adam", "epochs": 2, "batch_size": 64} | CASES[name]
    results: dict[str, Any] = {"model": name, "warm_up_seconds": warm}
    for run, extra in (("first", {}), ("again", {}), ("with_best", {"early_stopping": {"patience": 5}})):
        spec = JobSpec.model_validate(raw | extra)
        outcome = train(spec, ListRecorder(), device=CPU)
        assert outcome.trained is not None
        began = time.perf_counter()
        no_onnx = write_model_files(get_store(), f"{name}-{run}", spec, outcome.trained)
        results[f"{run}_seconds"] = time.perf_counter() - began
        results["onnx_unavailable"] = no_onnx
    folder = get_store().local_path(f"models/{name}-first")
    card = json.loads((folder / "model.json").read_text())
    onnx = card["weights"]["final"]["onnx"] or {}
    results |= {
        "max_abs_diff": onnx.get("max_abs_diff"),
        "checked_rows": onnx.get("checked_rows"),
        "onnx_bytes": onnx.get("bytes"),
        "safetensors_bytes": card["weights"]["final"]["bytes"],
    }
    return results


def main() -> None:
    """Each model in its own warmed process; a table and test-artifacts/bench/export.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(CASES), help="comma-separated catalog models")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    rows = []
    for name in args.models.split(","):
        child = [sys.executable, "-m", "benchmarks.bench_export", "--one", name]
        done = subprocess.run(child, cwd=ROOT, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    table = Table(title=f"Model export on a warm CPU worker (target: under {TARGET_SECONDS:g} s)")
    for column in ("model", "first export s", "again s", "with best s", "ONNX max diff", "ONNX bytes", "safetensors"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        table.add_row(
            row["model"],
            f"{row['first_seconds']:.2f}",
            f"{row['again_seconds']:.2f}",
            f"{row['with_best_seconds']:.2f}",
            "-" if row["max_abs_diff"] is None else f"{row['max_abs_diff']:.1e}",
            "-" if row["onnx_bytes"] is None else f"{row['onnx_bytes']:,}",
            f"{row['safetensors_bytes']:,}",
        )
    console().print(table)
    path = write_results("export", {"target_seconds": TARGET_SECONDS, "rows": rows})
    console().print(f"numbers in {Path(path).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
