"""How gradyard logs: text for people (the default), or one JSON object per line for a collector
(GRADYARD_LOG_FORMAT=json); either way every line a job causes names the job, its attempt and the worker."""

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]
_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
_attempt: contextvars.ContextVar[int | None] = contextvars.ContextVar("attempt", default=None)
# One per process, set once: every thread of a worker (its reconciler too) is that worker.
_worker: str | None = None


def set_worker(name: str) -> None:
    """Name this process's worker in every line it logs from now on."""
    global _worker
    _worker = name


@contextlib.contextmanager
def job_context(job_id: str) -> Iterator[None]:
    """Lines logged inside (and in threads started with a copy of this context) name the job."""
    job_token, attempt_token = _job_id.set(job_id), _attempt.set(None)
    try:
        yield
    finally:
        _attempt.reset(attempt_token)
        _job_id.reset(job_token)


def set_attempt(attempt: int) -> None:
    """The attempt the job in this context is on (known once the claim is won)."""
    _attempt.set(attempt)


class JobFields(logging.Filter):
    """Puts job_id, attempt and worker on each record (None where not known), for either format."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields; keep the record."""
        record.job_id, record.attempt, record.worker = _job_id.get(), _attempt.get(), _worker
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and job_id, attempt, worker when known."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; a traceback goes in `exception`, not on lines of its own."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("job_id", "attempt", "worker"):
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextJobFormatter(logging.Formatter):
    """The text format, with `[job <id> attempt <n>]` before the message of a line a job caused."""

    def format(self, record: logging.LogRecord) -> str:
        """The usual text line, prefixed with the job when there is one."""
        text = super().format(record)
        job_id = getattr(record, "job_id", None)
        if job_id is None:
            return text
        attempt = getattr(record, "attempt", None)
        return f"[job {job_id}{f' attempt {attempt}' if attempt else ''}] {text}"


def make_handler(log_format: LogFormat, *, rich: bool) -> logging.Handler:
    """The root handler: JSON lines on stderr, or text (Rich's on a terminal when `rich`)."""
    if log_format == "json":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif rich:
        from rich.logging import RichHandler

        handler = RichHandler(rich_tracebacks=True, show_path=False)
        handler.setFormatter(TextJobFormatter("%(name)s: %(message)s", datefmt="[%X]"))
    else:  # a log file or a collector: one unwrapped line per record, with its time and level
        handler = logging.StreamHandler()
        handler.setFormatter(TextJobFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(JobFields())
    return handler
