"""Run child processes side by side: restart those that may be restarted, stop them all on a signal."""

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A child that ran this long before it died counts as healthy again: its restart waits the shortest time.
HEALTHY_SECONDS = 60.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


@dataclass
class Child:
    """One supervised process: its command, whether it is restarted when it exits, and its grace period to stop."""

    name: str
    argv: list[str]
    restart: bool = False
    stop_seconds: float = 10.0
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = FIRST_BACKOFF_SECONDS


class Supervisor:
    """Starts children in one environment; `run()` blocks until a stop signal or a child that is not restarted exits."""

    def __init__(self, children: list[Child], *, env: dict[str, str]) -> None:
        self.children = children
        self.env = env
        self.signals = 0

    def run(self) -> int:
        """Supervise; return 0 after SIGINT/SIGTERM/SIGHUP, else the code (or 1) of a child that is not restarted."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            for child in self.children:
                self._start(child)
            return self._loop()
        finally:
            self._stop_all()
            for signum, handler in previous.items():
                if handler is not None:  # None: installed outside Python, cannot be put back
                    signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only count: logging or stopping from inside a handler could interleave with the loop's own work.
        self.signals += 1

    def _loop(self) -> int:
        while not self.signals:
            for child in self.children:
                code = self._check(child)
                if code is not None:
                    return code
            time.sleep(POLL_SECONDS)
        log.info("stopping (a second Ctrl-C kills at once)")
        return 0

    def _start(self, child: Child) -> None:
        # A session of its own: a terminal's Ctrl-C reaches only the supervisor, which then stops children in order.
        child.process = subprocess.Popen(child.argv, env=self.env, start_new_session=True)
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def _check(self, child: Child) -> int | None:
        now = time.monotonic()
        if child.process is None:
            if child.restart_at is not None and now >= child.restart_at:
                self._start(child)
            return None
        code = child.process.poll()
        if code is None:
            return None
        _kill_group(child.process.pid)  # e.g. a worker's pool processes, which would hold the GPU
        if not child.restart:
            log.error("%s %s; stopping everything", child.name, _describe(code))
            return code or 1
        ran = now - child.started_at
        if ran >= HEALTHY_SECONDS:
            child.backoff = FIRST_BACKOFF_SECONDS
        delay, child.backoff = child.backoff, min(child.backoff * 2, MAX_BACKOFF_SECONDS)
        child.process, child.restart_at = None, now + delay
        log.warning("%s %s after %.0fs; restarting it in %.0fs", child.name, _describe(code), ran, delay)
        return None

    def _stop_all(self) -> None:
        signals_before = self.signals
        running = [child for child in self.children if child.process is not None and child.process.poll() is None]
        for child in running:
            assert child.process is not None
            log.info("stopping %s (pid %d)", child.name, child.process.pid)
            # The leader only: it shuts its own helpers down (a Celery worker drains its pool, uvicorn its requests).
            child.process.send_signal(signal.SIGTERM)
        for child in running:
            self._wait_or_kill(child, force=lambda: self.signals > signals_before)

    def _wait_or_kill(self, child: Child, *, force: Callable[[], bool]) -> None:
        process = child.process
        assert process is not None
        deadline = time.monotonic() + child.stop_seconds
        while process.poll() is None and time.monotonic() < deadline and not force():
            time.sleep(0.1)
        if process.poll() is None:
            log.warning("%s did not stop; killing it", child.name)
        _kill_group(process.pid)
        process.wait()
        log.info("%s stopped", child.name)


def _kill_group(pgid: int) -> None:
    # Each child leads its own process group, so this reaches whatever it left behind, and nothing else.
    with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing left in the group
        os.killpg(pgid, signal.SIGKILL)


def _describe(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"
