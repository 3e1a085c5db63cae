"""Training through the service against a hand-written loop and a naive DataLoader loop, and per-step logging's cost.

Run: make bench-training   (or .venv/bin/python -m benchmarks.bench_training --help)

Each job runs three ways in one process run, interleaved, several times (medians reported): through the real stack
(API + Celery worker + private Redis + SQLite, the worker warmed by a throwaway job first; the job's time is the
worker's `started_at` to `finished_at`), the hand-written loop, and the naive loop (benchmarks/loops.py). Then the
engine alone with and without `log_every_steps: 1`, both through a real SqlRecorder on SQLite. Numbers go to
test-artifacts/bench/training.json.
"""

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from benchmarks.loops import LoopResult, hand_written, naive
from benchmarks.recording import profile_top, recorded_run, sqlite_database
from benchmarks.stack import bench_stack, machine, median, parse_time, process_cpu_seconds, write_results
from core.spec import JobSpec
from tests.e2e.stack import Stack

DIGITS: dict[str, Any] = {
    "name": "bench-digits-mlp",
    "dataset": {"name": "digits", "val_fraction": 0.2, "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [128]},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 30,
    "batch_size": 64,
    "seed": 0,
}
CIFAR: dict[str, Any] = {
    "name": "bench-cifar-cnn",
    "dataset": {"name": "synthetic_images", "n_samples": 10_000, "n_classes": 10, "val_fraction": 0.2},
    "model": {"name": "cifar_cnn"},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
    "epochs": 3,
    "batch_size": 64,
    "seed": 0,
}
# On a GPU: the same jobs in bf16 and with torch.compile (a spec option that may not exist yet: refused ones skip).
GPU_VARIANTS: dict[str, dict[str, Any]] = {
    "bf16": {"precision": "bf16"},
    "compile": {"compile": True},
    "bf16+compile": {"precision": "bf16", "compile": True},
}
console = Console(width=140)  # the tables' columns stay whole in a log or a pipe too


@dataclass
class Case:
    """One job in one variant: its spec and the times of each way of running it."""

    job: str
    variant: str
    spec: dict[str, Any]
    train_samples: int = 0
    runs: dict[str, list[float]] = field(default_factory=lambda: {"service": [], "hand": [], "naive": []})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {"service": [], "hand": [], "naive": []})
    wall: list[float] = field(default_factory=list)
    val_accuracy: dict[str, float] = field(default_factory=dict)

    def median(self, way: str, *, cpu: bool = False) -> float | None:
        """The median wall (or CPU) time of this way, None if it did not run."""
        times = (self.cpu if cpu else self.runs)[way]
        return median(times) if times else None


@dataclass(frozen=True)
class ServiceRun:
    """A job through the service: the worker's training time, POST to succeeded, the worker's CPU time, the job."""

    seconds: float
    wall: float
    cpu: float
    job: dict[str, Any]


def run_service(stack: Stack, spec: dict[str, Any], *, timeout: float = 3600.0) -> ServiceRun:
    """Submit the spec and wait for it to succeed."""
    worker_pid = stack.processes[1].pid
    cpu_before = process_cpu_seconds(worker_pid)
    sent = time.time()
    job_id = stack.submit(spec)
    deadline = time.monotonic() + timeout
    while (job := stack.job(job_id))["status"] in ("queued", "running"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['status']} after {timeout}s\n{stack.log_tail()}")
        time.sleep(0.25)  # slow polling: the wall time comes from finished_at, so polling only costs the worker CPU
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job['error']}\n{stack.log_tail()}")
    cpu = process_cpu_seconds(worker_pid) - cpu_before
    started, finished = parse_time(job["started_at"]), parse_time(job["finished_at"])
    return ServiceRun(finished - started, finished - sent, cpu, job)


def cases(device: torch.device) -> tuple[list[Case], list[str]]:
    """The cases to run on this device, and notes on what was skipped."""
    notes: list[str] = []
    jobs = {"digits mlp": DIGITS, "cifar_cnn 10k": CIFAR}
    found = [Case(job, "fp32", spec) for job, spec in jobs.items()]
    if device.type != "cuda":
        notes.append("no CUDA device (torch.cuda.is_available() is false): the GPU rows (bf16, compile) were not run")
        return found, notes
    for variant, extra in GPU_VARIANTS.items():
        for job, spec in jobs.items():
            try:
                JobSpec.model_validate(spec | extra)
            except ValidationError as exc:
                notes.append(f"{job} {variant}: the spec refuses it ({exc.errors()[0]['msg']}); skipped")
                continue
            found.append(Case(job, variant, spec | extra))
    return found, notes


def run_case(stack: Stack, case: Case, *, repeat: int, device: torch.device) -> None:
    """Run the case's ways interleaved, `repeat` times, so a busy moment of the machine hits all of them alike."""
    spec = JobSpec.model_validate(case.spec)
    compiled = bool(case.spec.get("compile"))
    ways: list[Callable[[], None]] = [
        lambda: _served(stack, case),
        lambda: _in_process(case, "hand", lambda: hand_written(spec, device=device, compile_model=compiled)),
    ]
    if case.variant == "fp32":
        ways.append(lambda: _in_process(case, "naive", lambda: naive(spec, device=device)))
    for i in range(repeat):
        for k in range(len(ways)):  # each round starts with the next way: a load trend favours none of them
            ways[(i + k) % len(ways)]()
        console.log(f"{case.job} {case.variant} round {i + 1}/{repeat}: " + _round_line(case))


def _served(stack: Stack, case: Case) -> None:
    served = run_service(stack, case.spec)
    case.runs["service"].append(served.seconds)
    case.cpu["service"].append(served.cpu)
    case.wall.append(served.wall)
    case.val_accuracy["service"] = float(served.job["metrics"]["val_accuracy"]["last"])


def _in_process(case: Case, way: str, loop: Callable[[], LoopResult]) -> None:
    cpu_before = time.process_time()
    result = loop()
    case.cpu[way].append(time.process_time() - cpu_before)
    case.runs[way].append(result.seconds)
    case.val_accuracy[way] = result.val_accuracy
    case.train_samples = result.train_samples


def _round_line(case: Case) -> str:
    return ", ".join(f"{way} {times[-1]:.2f}s" for way, times in case.runs.items() if times)


def times_table(found: list[Case]) -> Table:
    """One row per case and way: median seconds, spread, samples per second, last validation accuracy."""
    table = Table(title="Training: the same job three ways (median of the rounds)")
    for column in ("job", "variant", "way", "median s", "min-max s", "CPU s", "samples/s", "val acc"):
        table.add_column(column, justify="left" if column in ("job", "variant", "way") else "right")
    for case in found:
        for way, times in case.runs.items():
            if not times:
                continue
            rate = case.train_samples * JobSpec.model_validate(case.spec).epochs / median(times)
            label = "service (worker)" if way == "service" else way
            cpu = f"{median(case.cpu[way]):.3f}" if case.cpu[way] else ""
            row = [f"{median(times):.3f}", f"{min(times):.3f}-{max(times):.3f}", cpu, f"{rate:,.0f}"]
            table.add_row(case.job, case.variant, label, *row, f"{case.val_accuracy[way]:.4f}")
        if case.wall:
            row = [f"{median(case.wall):.3f}", f"{min(case.wall):.3f}-{max(case.wall):.3f}", "", "", ""]
            table.add_row(case.job, case.variant, "service (POST to succeeded)", *row)
    return table


def ratios(found: list[Case]) -> list[dict[str, Any]]:
    """Per case: service/hand-written (target <= 1.05) and naive/service (target >= 1.5 on digits)."""
    out = []
    for case in found:
        service, hand, plain = case.median("service"), case.median("hand"), case.median("naive")
        if service is None or hand is None:
            continue  # a job given no rounds
        row: dict[str, Any] = {"job": case.job, "variant": case.variant, "service_over_hand": service / hand}
        row["wall_over_hand"] = median(case.wall) / hand
        row["cpu_service_over_hand"] = _ratio(case.median("service", cpu=True), case.median("hand", cpu=True))
        if plain is not None:
            row["naive_over_service"] = plain / service
            row["cpu_naive_over_service"] = _ratio(case.median("naive", cpu=True), case.median("service", cpu=True))
        out.append(row)
    return out


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def ratios_table(rows: list[dict[str, Any]]) -> Table:
    """The ratios against their targets."""
    table = Table(title="Ratios (targets: service/hand <= 1.05; naive/service >= 1.5 on digits)")
    columns = (
        "job",
        "variant",
        "service/hand",
        "wall/hand",
        "naive/service",
        "CPU: service/hand",
        "CPU: naive/service",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("job", "variant") else "right")
    for row in rows:
        ok = "met" if row["service_over_hand"] <= 1.05 else "MISSED"
        naive_cell = ""
        if "naive_over_service" in row:
            naive_ok = "met" if row["naive_over_service"] >= 1.5 else "MISSED"
            naive_cell = f"{row['naive_over_service']:.2f}x ({naive_ok})"
        cells = [f"{row['service_over_hand']:.3f} ({ok})", f"{row['wall_over_hand']:.3f}", naive_cell]
        cells += [_cell(row.get("cpu_service_over_hand")), _cell(row.get("cpu_naive_over_service"))]
        table.add_row(row["job"], row["variant"], *cells)
    return table


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def logging_overhead(*, repeat: int, device: torch.device, profile: bool, every: int) -> dict[str, Any]:
    """The digits job through the engine and a SqlRecorder, with and without a point every `every` steps
    (interleaved)."""
    with_points = JobSpec.model_validate(DIGITS | {"log_every_steps": every})
    specs = {"without": JobSpec.model_validate(DIGITS), "with": with_points}
    wall: dict[str, list[float]] = {"without": [], "with": []}
    cpu: dict[str, list[float]] = {"without": [], "with": []}
    with sqlite_database():
        recorded_run(specs["without"], device=device)  # warm-up: first SQL statements, allocator, kernels
        for _ in range(repeat):
            for name, spec in specs.items():
                seconds, cpu_seconds = recorded_run(spec, device=device)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
        top = {name: profile_top(spec, device=device) for name, spec in specs.items()} if profile else {}
    overhead = median(wall["with"]) / median(wall["without"]) - 1
    cpu_overhead = median(cpu["with"]) / median(cpu["without"]) - 1
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "overhead": overhead,
        "cpu_overhead": cpu_overhead,
        "profiles": top,
        "log_every_steps": every,
    }


def logging_table(result: dict[str, Any]) -> Table:
    """Per-step logging's cost against its target."""
    table = Table(title="Per-step logging: digits mlp through the engine and a SqlRecorder on SQLite")
    for column in ("log_every_steps", "median s", "min-max s", "CPU s"):
        table.add_column(column, justify="right")
    for label, key in (("none", "without"), (str(result["log_every_steps"]), "with")):
        times = result["wall_s"][key]
        cpu = median(result["cpu_s"][key])
        table.add_row(label, f"{median(times):.3f}", f"{min(times):.3f}-{max(times):.3f}", f"{cpu:.3f}")
    verdict = "met" if result["overhead"] < 0.02 else "MISSED"
    table.caption = (
        f"extra time with a point every {result['log_every_steps']} step(s): {result['overhead']:+.1%} wall, "
        f"{result['cpu_overhead']:+.1%} CPU "
        f"(target under 2 %: {verdict})"
    )
    return table


def main() -> None:
    """Run every case, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the digits job (each way)")
    parser.add_argument("--cifar-repeat", type=int, default=3, help="rounds of the cifar_cnn job (each way)")
    parser.add_argument("--logging-repeat", type=int, default=7, help="rounds of the per-step logging comparison")
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions for logging")
    parser.add_argument("--log-every", type=int, default=1, help="log_every_steps of the per-step logging comparison")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads in the worker and here (0: torch's default)"
    )
    args = parser.parse_args()
    stack_env = {}
    if args.threads:
        # The same thread count on both sides; on a crowded machine one thread avoids OpenMP's oversubscription stalls.
        torch.set_num_threads(args.threads)
        stack_env["OMP_NUM_THREADS"] = str(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    found, notes = cases(device)
    for note in notes:
        console.print(f"[yellow]{note}")
    with bench_stack(env=stack_env) as stack:
        console.log("stack up; warming the worker with a throwaway job")
        run_service(stack, DIGITS | {"epochs": 1})
        hand_written(JobSpec.model_validate(DIGITS | {"epochs": 1}), device=device)  # this process's warm-up too
        for case in found:
            repeat = args.repeat if case.job.startswith("digits") else args.cifar_repeat
            run_case(stack, case, repeat=repeat, device=device)
    console.print(times_table(found))
    rows = ratios(found)
    console.print(ratios_table(rows))
    console.log("per-step logging: engine + SqlRecorder on SQLite")
    logged = logging_overhead(repeat=args.logging_repeat, device=device, profile=args.profile, every=args.log_every)
    console.print(logging_table(logged))
    for name, text in logged["profiles"].items():
        console.rule(f"cProfile, log_every_steps {args.log_every if name == 'with' else 'none'}")
        console.print(text, markup=False, highlight=False)
    results = {
        "machine": machine(),
        "threads": torch.get_num_threads(),
        "device": str(device),
        "notes": notes,
        "cases": [asdict(c) for c in found],
    }
    path = write_results("training", results | {"ratios": rows, "logging": logged})
    console.print(f"numbers written to {path}")


if __name__ == "__main__":
    main()
