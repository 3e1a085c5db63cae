"""A cluster whose parts the tests break: the API, workers started and killed one by one, its own Redis, and
optionally its own PostgreSQL server that the tests stop and start."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.redis_server import RedisServer, start_redis
from tests.conftest import create_database
from tests.e2e.conftest import Stack, create_key, free_port, start_process, stop_processes, wait_ready

# Short timings, so that a lost worker is noticed in seconds; the production defaults are ten times longer.
CHAOS_SETTINGS = {
    "GRADYARD_FLUSH_SECONDS": "0.2",
    "GRADYARD_HEARTBEAT_TIMEOUT_SECONDS": "5",
    "GRADYARD_RECONCILE_INTERVAL_SECONDS": "0.5",
    "GRADYARD_QUEUED_GRACE_SECONDS": "2",
    "GRADYARD_CHECKPOINT_SECONDS": "0",
    "GRADYARD_RATE_LIMIT_PER_MINUTE": "100000",  # the tests poll hard; rate limits have their own tests
}
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class Cluster(Stack):
    """The API and any number of workers, each a real process that a test may kill, stop or restart."""

    def __init__(self, workdir: Path, env: dict[str, str], redis: RedisServer) -> None:
        self.workdir, self.redis = workdir, redis
        self.api = start_process(["api"], env, workdir / "api.log")
        self.workers: list[subprocess.Popen[bytes]] = []
        base_url = f"http://127.0.0.1:{env['GRADYARD_PORT']}"
        super().__init__(base_url, [self.api], workdir, create_key(env, "chaos"), env)

    def start_worker(self, *, pool: str = "default", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start one more worker process in the pool, with the cluster's settings and `env` over them."""
        log = self.workdir / f"worker-{len(self.workers)}.log"
        worker = start_process(["worker", "--pool", pool], self.env | (env or {}), log)
        self.workers.append(worker)
        self.processes.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Send a signal to a worker; for SIGKILL, also wait until it is gone."""
        worker.send_signal(sig)
        if sig == signal.SIGKILL:
            worker.wait(timeout=10)

    def restart_redis(self) -> None:
        """Stop the broker and start an empty one at the same address: every queued message is lost."""
        socket_path = self.redis.socket_path
        self.redis.stop()
        self.redis = start_redis(self.workdir / "redis")
        assert self.redis.socket_path == socket_path

    def wait_for(self, job_id: str, predicate: Any, timeout: float = 60.0) -> dict[str, Any]:
        """Poll a job until predicate(job) holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if predicate(job):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never matched; last seen {job}\n{self.log_tail()}")

    def wait_for_log(self, name: str, text: str, timeout: float = 60.0) -> None:
        """Wait until a process's log contains the text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in (self.workdir / name).read_text():
                return
            time.sleep(0.1)
        raise AssertionError(f"{name} never said {text!r}\n{self.log_tail()}")


def _cluster(workdir: Path, database_url: str, extra: dict[str, str]) -> Iterator[Cluster]:
    redis = start_redis(workdir / "redis")
    env = (
        os.environ
        | CHAOS_SETTINGS
        | extra
        | {
            "GRADYARD_DATABASE_URL": database_url,
            "GRADYARD_BROKER_URL": redis.url,
            "GRADYARD_QUEUE": f"chaos-{uuid.uuid4().hex[:8]}",
            "GRADYARD_PORT": str(free_port()),
            "GRADYARD_ARTIFACT_DIR": str(workdir / "artifacts"),
            "GRADYARD_WORKER_STATE_DIR": str(workdir / "worker"),
        }
    )
    cluster = Cluster(workdir, env, redis)
    try:
        wait_ready(cluster)
        yield cluster
    finally:
        cluster.http.close()
        stop_processes(cluster.processes)
        cluster.redis.stop()


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A fresh cluster on SQLite, with no worker yet; a test's `chaos_settings` marker adds settings."""
    marker = request.node.get_closest_marker("chaos_settings")
    url, drop = create_database("sqlite", tmp_path)
    try:
        yield from _cluster(tmp_path, url, marker.kwargs if marker else {})
    finally:
        drop()


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb in a temp dir, a free port), so it can be stopped mid-job."""

    def __init__(self, directory: Path) -> None:
        assert PG_BIN is not None
        self.directory, self.port, self.running = directory, free_port(), False
        directory.mkdir(mode=0o700)
        shutil.chown(directory, "postgres", "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres"])
        self.start()

    def _as_postgres(self, argv: list[str]) -> None:
        # PostgreSQL refuses to run as root, and CI runs as root.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + argv, check=True, capture_output=True, cwd=self.directory)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-o",
                options,
                "-w",
                "start",
                "-l",
                str(self.directory / "server.log"),
            ]
        )
        self.running = True

    def stop(self) -> None:
        """Stop the server (fast: open connections are cut, as in a crash or a restart)."""
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop"])
        self.running = False

    @property
    def admin_url(self) -> str:
        """URL of the server's postgres database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def postgres_cluster(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Cluster, PrivatePostgres]]:
    """A cluster on a PostgreSQL server that the test may stop and start."""
    if PG_BIN is None or shutil.which("runuser") is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("the PostgreSQL server binaries are needed in CI")
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql")
    workdir = Path(tmp_path_factory.mktemp("pgchaos"))
    # The server runs as the postgres user, who cannot enter pytest's root-only temp tree.
    pg_home = Path(tempfile.mkdtemp(prefix="gradyard-pg-"))
    pg_home.chmod(0o755)
    server = PrivatePostgres(pg_home / "pg")
    monkeypatch.setattr("tests.conftest.PG_ADMIN_URL", server.admin_url)
    url, drop = create_database("postgresql", workdir)
    try:
        for cluster in _cluster(workdir, url, {}):
            yield cluster, server
    finally:
        if not server.running:
            server.start()
        drop()
        server.stop()
        shutil.rmtree(pg_home, ignore_errors=True)
