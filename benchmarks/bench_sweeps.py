"""A sweep end to end on the real stack (API, one warm worker, Redis, SQLite): the issue's 12-trial anchor.

Run: make bench-sweeps   (or .venv/bin/python -m benchmarks.bench_sweeps --help)

Digits, an MLP of width 16/64/128, SGD with a log-uniform learning rate and a uniform momentum, 15 epochs, trials
one at a time, TPE seed 11, ASHA with rungs at 1/3/9 epochs. Measured: POST to the first trial `running` (the
trial's state log against the client's clock), POST to the sweep's end, the gap between one trial's end and the
next one's start (the controller's pass, the new job's row and message, the claim: the service's own overhead per
trial beyond the epoch reports), epochs spent and trials pruned. `--compare N` also runs N trials of TPE+ASHA
against random search without pruning and reports both best values, epochs and wall times. Numbers go to
test-artifacts/bench/sweeps.json.
"""

import argparse
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.stack import bench_stack, export_over, machine, parse_time, percentile, write_results
from tests.e2e.stack import Stack

console = Console(width=140)


def sweep_body(*, trials: int, sampler: str, pruner: str, epochs: int = 15) -> dict[str, Any]:
    """The anchor's sweep."""
    return {
        "name": f"bench-{sampler}-{pruner}",
        "base": {
            "dataset": {"name": "digits", "val_fraction": 0.2},
            "model": {"name": "mlp", "hidden": [64]},
            "loss": "cross_entropy",
            "optimizer": {"name": "sgd", "lr": 0.01},
            "epochs": epochs,
            "batch_size": 64,
        },
        "space": {
            "model.hidden": {"type": "choice", "values": [[16], [64], [128]]},
            "optimizer.lr": {"type": "log_uniform", "low": 1e-4, "high": 1.0},
            "optimizer.momentum": {"type": "uniform", "low": 0.0, "high": 0.99},
        },
        "objective": {"metric": "val_accuracy", "mode": "max"},
        "sampler": sampler,
        "pruner": pruner,
        "max_trials": trials,
        "max_concurrent": 1,
        "seed": 11,
    }


def run_sweep(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """POST the sweep, wait for its end; its timings, epochs and best value."""
    posted = time.time()
    response = stack.http.post("/sweeps", json=body)
    assert response.status_code == 201, response.text
    sweep_id = response.json()["id"]
    while (sweep := stack.http.get(f"/sweeps/{sweep_id}").json())["state"] == "running":
        time.sleep(0.01)
    ended = time.time()
    board = stack.http.get(f"/sweeps/{sweep_id}/trials").json()["items"]
    # After the exports: the next sweep's first trial must not wait behind this one's last export.
    jobs = sorted((export_over(stack, row["job_id"]) for row in board), key=lambda job: job["trial"])
    starts = [parse_time(next(e["at"] for e in job["events"] if e["status"] == "running")) for job in jobs]
    ends = [parse_time(job["finished_at"]) for job in jobs]
    gaps = [start - end for start, end in zip(starts[1:], ends[:-1], strict=True)]
    return {
        "state": sweep["state"],
        "trials": len(jobs),
        "pruned": sum(job["reason"] == "pruned" for job in jobs),
        "epochs": sum(job["progress"]["epoch"] for job in jobs),
        "best": sweep["best"]["value"] if sweep["best"] else None,
        "seconds": ended - posted,
        "first_running_s": starts[0] - posted,
        "gap_p50_s": percentile(gaps, 0.5) if gaps else None,
        "gap_max_s": max(gaps) if gaps else None,
        "trial_s": [end - start for start, end in zip(starts, ends, strict=True)],
    }


def main() -> None:
    """Run the anchor sweep (and the comparison when asked); print and save the numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--compare", type=int, default=0, help="also run this many trials: TPE+ASHA vs random")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine()}
    with bench_stack() as stack:
        run_sweep(stack, sweep_body(trials=2, sampler="random", pruner="none", epochs=1))  # warm the worker
        results["anchor"] = run_sweep(stack, sweep_body(trials=args.trials, sampler="tpe", pruner="asha"))
        if args.compare:
            results["tpe_asha"] = run_sweep(stack, sweep_body(trials=args.compare, sampler="tpe", pruner="asha"))
            results["random"] = run_sweep(stack, sweep_body(trials=args.compare, sampler="random", pruner="none"))
    table = Table("run", "trials", "pruned", "epochs", "best val_accuracy", "wall s", "first running s", "gap p50 s")
    for name in ("anchor", "tpe_asha", "random"):
        if name in results:
            r = results[name]
            gap = "-" if r["gap_p50_s"] is None else f"{r['gap_p50_s']:.3f}"
            best = "-" if r["best"] is None else f"{r['best']:.4f}"
            row = [str(r["trials"]), str(r["pruned"]), str(r["epochs"]), best, f"{r['seconds']:.2f}"]
            table.add_row(name, *row, f"{r['first_running_s']:.3f}", gap)
    console.print(table)
    console.print(f"results: {write_results('sweeps', results)}")


if __name__ == "__main__":
    main()
