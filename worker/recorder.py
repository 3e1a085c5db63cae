"""The SQL recorder: the training thread hands it points; a writer thread writes them in fenced batches.

Each batch carries the attempt number, so a worker that lost its job (StaleAttempt) cannot write over a newer attempt.
The same write is the heartbeat and reads the cancel flag. While the database is down the points stay buffered and
training goes on; they are written when it returns.
"""

import contextvars
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from core import repository
from core.db import session_scope
from core.errors import StaleAttempt
from core.metrics import Point
from core.repository.lifecycle import StopAsked
from core.states import StopReason
from worker.outage import through_outage

log = logging.getLogger(__name__)


class SqlRecorder:
    """Buffers a job's points and writes them, with progress and a heartbeat, every flush interval."""

    def __init__(
        self,
        *,
        job_id: str,
        attempt: int,
        flush_seconds: float,
        deadline: float | None = None,
        progress: tuple[int, int] = (0, 0),
        shutdown: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.flush_seconds = flush_seconds
        self.deadline = deadline
        self._shutdown = shutdown or threading.Event()
        self._clock = clock
        self._lock = threading.Lock()
        # One write at a time: write_now() must not return while the writer thread still has points in a transaction.
        self._write_lock = threading.Lock()
        self._buffer: list[Point] = []
        self._progress = progress  # (epoch, step) until the loop records more: where a resumed attempt starts
        self._asked: StopAsked = None  # cancelled by its owner, or preempted by the dispatcher
        self._superseded = False
        self._closing = threading.Event()
        # Run in a copy of this context: the writer's log lines name the job and attempt as the loop's do.
        self._writer = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._write_periodically,),
            name=f"recorder-{job_id[:8]}",
            daemon=True,
        )

    def start(self) -> "SqlRecorder":
        """Start the writer thread (its first write is the attempt's first heartbeat)."""
        self._writer.start()
        return self

    def record(self, points: list[Point], *, epoch: int, step: int) -> None:
        """Buffer one epoch's points; the writer thread sends them."""
        with self._lock:
            self._buffer.extend(points)
            self._progress = (epoch, step)

    @property
    def superseded(self) -> bool:
        """Whether a write of this attempt was refused because a newer attempt owns the job."""
        return self._superseded

    def should_stop(self) -> StopReason | None:
        """Why the loop must stop now (superseded, cancelled, shutting down, out of time), or None. No I/O."""
        if self._superseded:
            return "superseded"
        if self._asked == "cancelled":
            return "cancelled"
        if self._shutdown.is_set():
            return "shutdown"
        if self._asked == "preempted":
            return "preempted"
        if self.deadline is not None and self._clock() >= self.deadline:
            return "timed_out"
        return None

    def close(self) -> None:
        """Stop the writer thread and write what is left, waiting out a database outage."""
        self._closing.set()
        if self._writer.is_alive():
            self._writer.join()
        through_outage(self._write_buffer, what=f"job {self.job_id}: last points")

    def _write_periodically(self) -> None:
        self._flush()
        while not self._closing.wait(self.flush_seconds):
            self._flush()

    def _flush(self) -> None:
        """Write the buffer once; on a database outage the points stay buffered for the next try."""
        try:
            self._write_buffer()
        except OperationalError as exc:
            log.warning("job %s: database unreachable, points kept: %s", self.job_id, exc.orig)

    def write_now(self) -> None:
        """Write what is buffered now, from the caller's thread (before a checkpoint is recorded)."""
        self._write_buffer()

    def _write_buffer(self) -> None:
        """Write the buffered points, progress and heartbeat in one fenced transaction (points kept if it fails)."""
        with self._write_lock:
            self._write_buffer_locked()

    def _write_buffer_locked(self) -> None:
        with self._lock:
            points, self._buffer = self._buffer, []
            epoch, step = self._progress
        try:
            with session_scope() as session:
                self._asked = repository.record_progress(
                    session, job_id=self.job_id, attempt=self.attempt, points=points, epoch=epoch, step=step
                )
        except StaleAttempt:
            log.warning("job %s attempt %s was superseded; its writes are refused", self.job_id, self.attempt)
            self._superseded = True
        except BaseException:
            with self._lock:
                self._buffer[:0] = points
            raise
