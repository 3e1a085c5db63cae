"""A worker the kernel kills: for lack of memory its job fails as out_of_memory, not retried; killed otherwise, its
restarted self hands the job back at once instead of waiting out the heartbeat timeout. Real processes, a real
memory cgroup, the kernel's own OOM killer."""

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.conftest import Cluster
from tests.chaos.test_faults import JOB, at_epoch, note_recovery, statuses

pytestmark = pytest.mark.chaos

# 200,000 x 1,000 float64 draws: 1.6 GB, twice while split. The admission estimate (3.2 GB) is under its default
# limit, so only the worker's cgroup (its resident size plus 600 MB) stops it.
TOO_BIG = JOB | {
    "dataset": {"name": "synthetic_regression", "n_samples": 200_000, "n_features": 1000, "val_fraction": 0.1},
    "loss": {"name": "mse"},
    "epochs": 1,
}
HEADROOM = 600 << 20


def _own_memory_cgroup() -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
        if controllers == "" and (Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.max").exists():
            return Path("/sys/fs/cgroup") / path.lstrip("/")
    return None


@pytest.fixture
def memory_cgroup() -> Iterator[Path]:
    """A memory cgroup of this test's own, under this process's (root may make one); removed afterwards."""
    parent = _own_memory_cgroup()
    if parent is None:
        pytest.skip("no memory cgroup to nest one in")
    group = parent / f"gradyard-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot make a memory cgroup here: {exc}")
    try:
        yield group
    finally:
        for _ in range(50):  # the killed process leaves the group a moment after it exits
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _confine(group: Path, pid: int, limit: int) -> None:
    """Move a process into the cgroup and cap the group's memory (v1 or v2 files)."""
    (group / "cgroup.procs").write_text(str(pid))
    if (group / "memory.limit_in_bytes").exists():
        (group / "memory.limit_in_bytes").write_text(str(limit))
    else:
        (group / "memory.max").write_text(str(limit))
        (group / "memory.swap.max").write_text("0")


def _resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_a_job_the_kernel_kills_for_memory_fails_as_out_of_memory_without_a_retry(
    cluster: Cluster, memory_cgroup: Path
) -> None:
    worker = cluster.start_worker()
    cluster.wait_for_log("worker-0.log", "ready")
    _confine(memory_cgroup, worker.pid, _resident_bytes(worker.pid) + HEADROOM)
    job_id = cluster.submit(TOO_BIG)
    assert worker.wait(timeout=120) == -signal.SIGKILL  # the kernel's OOM killer, not this test
    assert cluster.job(job_id)["status"] == "running"  # nobody has ended it yet
    cluster.start_worker()  # a supervisor's restart: the new process takes the dead one's slot
    job = cluster.wait_for(job_id, lambda job: job["status"] == "failed", timeout=180)
    assert (job["reason"], job["attempt"], job["restarts"]) == ("out_of_memory", 1, 0)
    assert job["error"].startswith("the kernel killed the worker for lack of memory while it ran this job")
    assert statuses(job) == [("queued", 0, None), ("running", 1, None), ("failed", 1, "out_of_memory")]


@pytest.mark.chaos_settings(GRADYARD_HEARTBEAT_TIMEOUT_SECONDS="600")  # the reconciler cannot be the one that helps
def test_a_restarted_worker_hands_back_the_job_its_previous_life_held_at_once(cluster: Cluster) -> None:
    worker = cluster.start_worker()
    job_id = cluster.submit(JOB)
    cluster.wait_for(job_id, at_epoch(2), timeout=180)  # a loaded machine takes a while to start a worker
    cluster.kill(worker)
    killed = time.monotonic()
    cluster.start_worker()
    resumed = cluster.wait_for(job_id, lambda job: job["attempt"] == 2 and job["status"] == "running", timeout=180)
    note_recovery("SIGKILL worker mid-job, restarted: back to running", time.monotonic() - killed)
    assert resumed["progress"]["epoch"] >= 2 and resumed["restarts"] == 1
    job = cluster.wait(job_id)
    assert (job["status"], job["attempt"], job["restarts"]) == ("succeeded", 2, 1)
    assert ("queued", 1, "worker_lost") in statuses(job)


def test_two_live_workers_never_share_a_slot(cluster: Cluster) -> None:
    first, second = cluster.start_worker(), cluster.start_worker()
    cluster.wait_for_log("worker-0.log", "ready")
    cluster.wait_for_log("worker-1.log", "ready")
    slots = sorted(p.name for p in (cluster.workdir / "worker").iterdir())
    assert slots == ["worker-slot-0.json", "worker-slot-1.json"]
    assert first.poll() is None and second.poll() is None  # both live, each on its own slot
