"""One job, start to end: claim it, train it, record it, and end it with a status a person can read."""

import logging
import time

from core import repository
from core.db import session_scope
from core.errors import StaleAttempt
from core.settings import get_settings
from core.spec import JobSpec
from worker.engine import TrainingFailed, resolve_device, train
from worker.recorder import SqlRecorder

log = logging.getLogger(__name__)


def _finish(job_id: str, attempt: int, status: str, error: str | None) -> None:
    with session_scope() as session:
        if not repository.finish_job(session, job_id=job_id, attempt=attempt, status=status, error=error):
            log.warning("job %s attempt %s lost ownership before it could end %s", job_id, attempt, status)


def run_job(job_id: str) -> str | None:
    """Run the job if this delivery wins the claim; the status it ended with, or None when another attempt owns it."""
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id)
        spec_json = repository.get_job(session, job_id=job_id).spec if attempt is not None else None
    if attempt is None or spec_json is None:
        log.info("job %s not claimed (already taken, cancelled or missing)", job_id)
        return None
    log.info("job %s attempt %s started", job_id, attempt)
    recorder = SqlRecorder(job_id=job_id, attempt=attempt, flush_seconds=get_settings().flush_seconds)
    started = time.monotonic()
    try:
        spec = JobSpec.model_validate(spec_json)
        outcome = train(spec, recorder, device=resolve_device(spec.device))
        recorder.flush()
        status: str = outcome.status
        error: str | None = None
    except StaleAttempt:
        log.warning("job %s attempt %s was superseded; stopping without writing", job_id, attempt)
        return None
    except TrainingFailed as exc:
        status, error = "failed", str(exc)
        recorder.flush()
    except Exception as exc:  # any other error ends the job failed, with the reason, instead of killing the worker
        log.exception("job %s failed", job_id)
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    _finish(job_id, attempt, status, error)
    log.info("job %s ended %s in %.2fs", job_id, status, time.monotonic() - started)
    return status
