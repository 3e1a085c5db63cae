"""The checks `make compose-test` runs against the compose stack: jobs train, and a killed worker loses nothing.

Standard library only, so it runs with any Python 3.11 before (or without) the project's virtual environment.
"""

import argparse
import base64
import itertools
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

Series = dict[str, list[Any]]

THERMOMETER: dict[str, Any] = {
    "name": "thermometer",
    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
    "model": {"name": "linear"},
    "loss": {"name": "mse"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "epochs": 5000,
    "batch_size": None,
}
THERMOMETER_OPTIMUM = 2.9276  # the least-squares loss, as in the README's walk-through
# Long enough on a small CPU that the kill lands mid-job, short enough to resume and finish in a minute or two.
LONG_JOB: dict[str, Any] = {
    "name": "digits-long",
    "dataset": {"name": "digits", "val_fraction": 0.2},
    "model": {"name": "mlp", "hidden": [256, 256]},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "adam", "lr": 0.001},
    "epochs": 40,
    "batch_size": 16,
}
TERMINAL = {"succeeded", "failed", "cancelled"}
# The first start of an empty database makes the user `admin` and logs its key once, as the README tells.
FIRST_KEY = re.compile(r"created user 'admin' with this API key.*?(gy_[A-Za-z0-9_-]{43})", re.DOTALL)


class Stack:
    """The API and Flower over HTTP, the containers through the docker CLI."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.api = args.api.rstrip("/")
        self.flower = args.flower.rstrip("/")
        self.flower_auth = "Basic " + base64.b64encode(args.flower_auth.encode()).decode()
        self.containers = {
            "api": args.api_container,
            "worker": args.worker_container,
            "redis": args.redis_container,
            "postgres": args.postgres_container,
            "flower": args.flower_container,
        }
        self.redis_port = args.redis_port
        self.prometheus = args.prometheus.rstrip("/")
        self.key = ""

    def request(self, url: str, *, body: Any = None, auth: str | None = None) -> tuple[int, Any]:
        """One HTTP request; its status and its JSON body (or text)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
        request.add_header("content-type", "application/json")
        if auth:
            request.add_header("authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> Any:
        """GET an API path that must answer 200."""
        status, body = self.request(self.api + path, auth=f"Bearer {self.key}")
        expect(status == 200, f"GET {path}: {status} {body}")
        return body

    def submit(self, spec: dict[str, Any]) -> str:
        """POST a spec; the new job's id."""
        status, body = self.request(self.api + "/jobs", body=spec, auth=f"Bearer {self.key}")
        expect(status == 201, f"POST /jobs: {status} {body}")
        return str(body["id"])

    def wait(self, job_id: str, statuses: set[str], *, timeout: float) -> dict[str, Any]:
        """Poll a job until it reaches one of these statuses."""
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.get(f"/jobs/{job_id}")
            if job["status"] in statuses:
                return job
            expect(time.monotonic() < deadline, f"job {job['name']} still {job['status']} after {timeout:.0f}s")
            time.sleep(0.2)

    def history(self, job_id: str) -> dict[str, Series]:
        """A job's metric history, one columnar series per metric name."""
        metrics: dict[str, Series] = self.get(f"/jobs/{job_id}/metrics")["metrics"]
        return metrics

    def docker(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI; its result, whatever the exit code."""
        return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)

    def exec_in(self, service: str, command: str) -> subprocess.CompletedProcess[str]:
        """Run a shell command inside a service's container."""
        return self.docker("exec", self.containers[service], "sh", "-c", command)


def expect(condition: bool, message: str) -> None:
    """Fail the current check with a message that says what was seen."""
    if not condition:
        raise AssertionError(message)


def one_point_per_step(history: dict[str, Series]) -> None:
    """Each series' steps strictly increase: no (name, step) twice, none out of order."""
    for name, series in history.items():
        steps = series["step"]
        expect(all(a < b for a, b in itertools.pairwise(steps)), f"{name} repeats or reorders steps")


def check_ready(stack: Stack) -> None:
    status, body = stack.request(stack.api + "/readyz")
    expect(status == 200, f"/readyz answered {status}: {body}")


def check_first_admin_key(stack: Stack) -> None:
    logs = stack.docker("logs", stack.containers["api"])
    found = FIRST_KEY.search(logs.stdout + logs.stderr)
    if found is None:
        raise AssertionError("the API's log shows no first admin key")
    status, _ = stack.request(stack.api + "/jobs")
    expect(status == 401, f"GET /jobs without a key answered {status}, not 401")
    stack.key = found.group(1)
    stack.get("/jobs")


def check_runs_as_non_root(stack: Stack) -> None:
    for service in ("api", "worker"):
        result = stack.exec_in(service, "id -un")
        expect(result.stdout.strip() == "gradyard", f"{service} runs as {result.stdout.strip() or result.stderr}")


def check_api_image_has_no_torch(stack: Stack) -> None:
    result = stack.exec_in("api", "python -c 'import torch'")
    expect("No module named 'torch'" in result.stderr, f"import torch in the api container: {result.stderr[-300:]}")
    result = stack.exec_in("worker", "python -c 'import torch; print(torch.__version__)'")
    expect(result.returncode == 0, f"import torch in the worker container: {result.stderr[-300:]}")


def check_worker_writes_its_volumes(stack: Stack) -> None:
    probe = 'for d in "$GRADYARD_ARTIFACT_DIR" "$GRADYARD_DATA_DIR"; do touch "$d/p" && rm "$d/p" || exit 1; done'
    result = stack.exec_in("worker", probe)
    expect(result.returncode == 0, f"the worker cannot write its volumes: {result.stderr}")


def check_redis_appends(stack: Stack) -> None:
    result = stack.exec_in("redis", f"redis-cli -p {stack.redis_port} config get appendonly")
    expect(result.stdout.split() == ["appendonly", "yes"], f"redis appendonly: {result.stdout!r} {result.stderr}")


def check_thermometer_trains(stack: Stack) -> None:
    job_id = stack.submit(THERMOMETER)
    job = stack.wait(job_id, TERMINAL, timeout=300)
    expect(job["status"] == "succeeded", f"thermometer ended {job['status']}: {job.get('error')}")
    loss = stack.history(job_id)["train_loss"]
    expect(loss["step"] == list(range(1, 5001)), f"train_loss has {len(loss['step'])} points, not steps 1..5000")
    expect(abs(loss["value"][-1] - THERMOMETER_OPTIMUM) < 1e-3, f"final train_loss {loss['value'][-1]}")


def check_database_backup(stack: Stack) -> None:
    # The README's backup command, read back by pg_restore: the dump holds the job just trained.
    dump = "pg_dump -U gradyard -Fc gradyard | pg_restore --data-only --table=job -f -"
    result = stack.exec_in("postgres", dump)
    expect("thermometer" in result.stdout, f"the dump's job table: {result.stdout[-300:]} {result.stderr[-300:]}")


def check_flower_sees_the_worker(stack: Stack) -> None:
    image = stack.docker("inspect", "--format", "{{.Config.Image}}", stack.containers["flower"]).stdout.strip()
    bare = stack.docker("run", "--rm", "--network", "none", "--env", "FLOWER_BASIC_AUTH=", image)
    expect(bare.returncode == 1 and "FLOWER_BASIC_AUTH" in bare.stderr, f"Flower without a password: {bare}")
    status, _ = stack.request(stack.flower + "/api/workers")
    expect(status == 401, f"Flower without credentials answered {status}, not 401")
    status, workers = stack.request(stack.flower + "/api/workers?refresh=1", auth=stack.flower_auth)
    expect(status == 200, f"Flower /api/workers: {status} {workers}")
    names = sorted(workers)  # the gpu pool's worker (worker-cpu here) and the cpu pool's
    expect(len(names) == 2 and all(n.startswith("gradyard-worker-") for n in names), f"Flower lists workers {names}")


def check_pools_route_jobs(stack: Stack) -> None:
    # A job that names no pool runs in `gpu` (GRADYARD_DEFAULT_POOL); one that names `cpu` on the cpu pool's worker.
    workers = {w["pool"]: w for w in stack.get("/workers")["items"] if w["live"]}
    expect(set(workers) == {"gpu", "cpu"}, f"live workers by pool: {sorted(workers)}")
    small = THERMOMETER | {"epochs": 50}
    jobs = {pool: stack.submit(small if pool == "gpu" else small | {"pool": pool}) for pool in ("gpu", "cpu")}
    for pool, job_id in jobs.items():
        job = stack.wait(job_id, TERMINAL, timeout=300)
        expect(job["status"] == "succeeded", f"the {pool} job ended {job['status']}: {job.get('error')}")
        expect(job["spec"]["pool"] == pool, f"the {pool} job's pool is {job['spec']['pool']}")
        expect(job["worker_id"] == workers[pool]["id"], f"the {pool} job ran on {job['worker_id']}")


ALERTS = {
    "GradyardOldestQueuedJobTooOld",
    "GradyardNoWorkerIsTakingJobs",
    "GradyardRunningJobLostItsWorker",
    "GradyardPoolHasNoWorker",
}


def check_prometheus_scrapes_the_api(stack: Stack) -> None:
    """Prometheus (the monitor profile) scrapes /metrics with its admin key: the target is up, gradyard_jobs is
    there with the thermometer job's status, and the alert rules are loaded."""
    deadline, targets = time.monotonic() + 90, []
    while time.monotonic() < deadline:  # the first scrape comes within a scrape interval (15 s) of the start
        status, body = stack.request(stack.prometheus + "/api/v1/targets")
        if status == 200 and isinstance(body, dict):
            targets = body["data"]["activeTargets"]
            if any(t["labels"]["job"] == "gradyard" and t["health"] == "up" for t in targets):
                break
        time.sleep(2)
    else:
        raise AssertionError(f"Prometheus's gradyard target never came up: {targets}")
    # The target may have come up with a scrape taken while the first job still ran: wait for a later one (every 15 s).
    deadline, seen = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        status, body = stack.request(stack.prometheus + "/api/v1/query?query=sum%20by%20(status)%20(gradyard_jobs)")
        expect(status == 200, f"Prometheus query: {status} {body}")
        seen = {r["metric"].get("status"): float(r["value"][1]) for r in body["data"]["result"]}
        if seen.get("succeeded", 0) >= 1:
            break
        time.sleep(2)
    expect(seen.get("succeeded", 0) >= 1, f"gradyard_jobs as Prometheus sees it: {seen}")
    status, body = stack.request(stack.prometheus + "/api/v1/rules")
    names = {rule["name"] for group in body["data"]["groups"] for rule in group["rules"]} if status == 200 else set()
    expect(names >= ALERTS, f"alert rules loaded: {sorted(names)}")


class KillScenario:
    """Kill the worker container mid-job, start it again: the job resumes from its checkpoint and succeeds."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.job_id = ""
        self.checkpoint_epoch = 0
        self.before: dict[str, Series] = {}

    def kill_mid_job(self) -> None:
        stack = self.stack
        self.job_id = stack.submit(LONG_JOB)
        deadline = time.monotonic() + 180
        while (job := stack.get(f"/jobs/{self.job_id}"))["checkpoint_step"] is None:
            expect(job["status"] in {"queued", "running"}, f"the long job ended {job['status']} before a checkpoint")
            expect(time.monotonic() < deadline, "the long job wrote no checkpoint in 180s")
            time.sleep(0.2)
        self.before = before = stack.history(self.job_id)
        killed = stack.docker("kill", stack.containers["worker"])
        expect(killed.returncode == 0, f"docker kill: {killed.stderr}")
        job = stack.get(f"/jobs/{self.job_id}")
        expect(job["status"] == "running", f"the job was {job['status']} at the kill, not running")
        self.checkpoint_epoch = job["checkpoint_step"] // before["train_loss"]["step"][0]
        after = stack.history(self.job_id)
        for name, series in before.items():
            kept = {column: values[: len(series["step"])] for column, values in after[name].items()}
            expect(kept == series, f"{name}: the points written before the kill changed after it")
        one_point_per_step(after)

    def resumes_from_checkpoint(self) -> None:
        stack = self.stack
        started = stack.docker("start", stack.containers["worker"])
        expect(started.returncode == 0, f"docker start: {started.stderr}")
        # The restarted worker's reconciler finds the heartbeat stale (GRADYARD_HEARTBEAT_TIMEOUT_SECONDS, 30 s) and
        # queues the job again.
        job = stack.wait(self.job_id, TERMINAL, timeout=600)
        events = [(e["status"], e["attempt"], e["reason"]) for e in job["events"]]
        expect(
            events
            == [
                ("queued", 0, None),
                ("running", 1, None),
                ("queued", 1, "worker_lost"),
                ("running", 2, None),
                ("succeeded", 2, None),
            ],
            f"the job's state log: {events}",
        )
        expect(job["restarts"] == 1, f"restarts: {job['restarts']}")

    def one_point_per_epoch(self) -> None:
        history = self.stack.history(self.job_id)
        # Resumed, not started over: the points up to the checkpoint are the very ones written before the kill, down
        # to their timestamps (a fresh start would have rewritten them all, with new times).
        for name, series in self.before.items():
            count = min(self.checkpoint_epoch, len(series["step"]))  # covered by the checkpoint, seen before the kill
            expect(count >= 1, f"{name}: no point before the checkpoint at epoch {self.checkpoint_epoch}")
            kept = {column: values[:count] for column, values in history[name].items()}
            expect(kept == {column: values[:count] for column, values in series.items()}, f"{name} was not resumed")
        epochs = LONG_JOB["epochs"]
        # Each series the job records (the catalog may add more), every one checked below.
        expect({"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"} <= set(history), f"{set(history)}")
        steps_per_epoch = history["train_loss"]["step"][0]
        for name, series in history.items():
            expect(series["epoch"] == list(range(1, epochs + 1)), f"{name}: epochs {series['epoch']}")
            expect(series["step"] == [steps_per_epoch * e for e in range(1, epochs + 1)], f"{name}: steps")


def main() -> int:
    """Run every check in order; stop at the first failure, since later ones build on earlier ones."""
    parser = argparse.ArgumentParser(description=__doc__)
    containers = ("api-container", "worker-container", "redis-container", "postgres-container", "flower-container")
    for option in ("api", "flower", "flower-auth", *containers):
        parser.add_argument(f"--{option}", required=True)
    parser.add_argument("--redis-port", required=True, type=int)
    parser.add_argument("--prometheus", required=True)
    stack = Stack(parser.parse_args())
    kill = KillScenario(stack)
    checks: list[tuple[str, Callable[[], None]]] = [
        ("the API is ready (database and broker reachable)", lambda: check_ready(stack)),
        ("the first admin key is in the API's log, and needed", lambda: check_first_admin_key(stack)),
        ("api and worker run as the gradyard user", lambda: check_runs_as_non_root(stack)),
        ("the api image has no torch, the worker's has", lambda: check_api_image_has_no_torch(stack)),
        ("the worker writes its artifact and data volumes", lambda: check_worker_writes_its_volumes(stack)),
        ("redis keeps an append-only file", lambda: check_redis_appends(stack)),
        ("first job: thermometer trains to the optimum", lambda: check_thermometer_trains(stack)),
        ("backup: pg_dump of the database holds the job", lambda: check_database_backup(stack)),
        ("flower lists the workers, behind a password it insists on", lambda: check_flower_sees_the_worker(stack)),
        ("prometheus scrapes the API: target up, gradyard_jobs seen", lambda: check_prometheus_scrapes_the_api(stack)),
        ("pools: a job to each of gpu and cpu runs on that pool's worker", lambda: check_pools_route_jobs(stack)),
        ("kill: the worker is killed mid-job, history intact", kill.kill_mid_job),
        ("kill: the restarted worker resumes the job, which succeeds", kill.resumes_from_checkpoint),
        ("kill: resumed from the checkpoint, one point per (name, step)", kill.one_point_per_epoch),
    ]
    passed = failed = 0
    for title, check in checks:
        start = time.monotonic()
        try:
            check()
        except AssertionError as error:
            print(f"FAIL  {title}: {error}", flush=True)
            failed += 1
            break
        passed += 1
        print(f"ok    {title} ({time.monotonic() - start:.1f}s)", flush=True)
    print(f"compose-test: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
