"""The SQL recorder: buffers points and writes them, with progress and a heartbeat, in fenced batches."""

import time
from collections.abc import Callable

from core import repository
from core.db import session_scope
from core.metrics import Point


class SqlRecorder:
    """Writes a job's points in one transaction every flush interval, never one commit per point.

    Each write carries the attempt number, so a worker that lost its job (StaleAttempt) cannot write over a newer
    attempt. The same write reads the cancel flag, which is how a cancel reaches the loop.
    """

    def __init__(
        self, *, job_id: str, attempt: int, flush_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._buffer: list[Point] = []
        self._epoch = 0
        self._step = 0
        self._cancel_requested = False
        self._last_flush = clock()

    def record(self, points: list[Point], *, epoch: int, step: int) -> None:
        """Buffer one epoch's points; they reach the database at the next flush."""
        self._buffer.extend(points)
        self._epoch, self._step = epoch, step
        self.should_stop()

    def should_stop(self) -> bool:
        """Whether a cancel was requested; flushes first when a flush is due."""
        if self._clock() - self._last_flush >= self.flush_seconds:
            self.flush()
        return self._cancel_requested

    def flush(self) -> None:
        """Write the buffered points, progress and heartbeat now, and read the cancel flag."""
        with session_scope() as session:
            self._cancel_requested = repository.record_progress(
                session,
                job_id=self.job_id,
                attempt=self.attempt,
                points=self._buffer,
                epoch=self._epoch,
                step=self._step,
            )
        self._buffer = []
        self._last_flush = self._clock()
