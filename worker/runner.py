"""One job, start to end: claim it, resume it from its checkpoint, train it, and end it with a status and a reason."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from core import repository
from core.admission.limits import runtime_limit
from core.db import session_scope
from core.errors import StaleAttempt
from core.logs import set_attempt
from core.settings import get_settings
from core.spec import JobSpec
from core.states import TERMINAL_STATUSES, EndReason, JobStatus
from core.sweeps.judge import judge_for
from worker.checkpoint import CheckpointStore, load_checkpoint
from worker.engine import Outcome, TrainingFailed, resolve_device, train
from worker.export import export_model
from worker.outage import through_outage
from worker.previous_life import Slot
from worker.recorder import SqlRecorder
from worker.retention import job_ended
from worker.trained import Trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    """A job this attempt owns: its spec and the checkpoint it resumes from, if any."""

    job_id: str
    attempt: int
    spec: dict[str, Any]
    checkpoint_path: str | None
    sweep_id: str | None = None  # a sweep's trial: its epochs are judged by the sweep's pruner


def _claim(job_id: str, worker_id: str | None) -> Claimed | None:
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id, worker_id=worker_id)
        if attempt is None:
            return None
        job = repository.get_job(session, job_id=job_id)
        return Claimed(job_id, attempt, job.spec, job.checkpoint_path, job.sweep_id)


def _resume_state(claimed: Claimed, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint to resume from, after forgetting every point recorded past it."""
    if claimed.attempt == 1 and claimed.checkpoint_path is None:
        return None  # a first attempt: no earlier one wrote a point to forget (a transaction saved from every job)
    state = None
    if claimed.checkpoint_path is not None:
        state = load_checkpoint(get_settings().artifact_dir / claimed.checkpoint_path, device=device)
    step, epoch = (int(state["step"]), int(state["epoch"])) if state else (0, 0)
    with session_scope() as session:
        repository.rewind_history(session, job_id=claimed.job_id, attempt=claimed.attempt, step=step, epoch=epoch)
    return state


def _finish(
    claimed: Claimed, status: JobStatus, reason: EndReason | None, error: str | None, detail: str | None = None
) -> bool:
    def write() -> bool:
        with session_scope() as session:
            return repository.finish_job(
                session,
                job_id=claimed.job_id,
                attempt=claimed.attempt,
                status=status,
                reason=reason,
                error=error,
                detail=detail,
            )

    # A database outage at the very end must not cost the job a rerun.
    ended = through_outage(write, what=f"job {claimed.job_id}: ending {status}")
    if not ended:
        log.warning("job %s attempt %s lost the job before it could end %s", claimed.job_id, claimed.attempt, status)
    return ended


def _end_stopped(claimed: Claimed, outcome: Outcome, enqueue: Callable[[str], None]) -> None:
    """End a loop the recorder stopped, for the reason it stopped on: cancelled, handed back for a shutdown, or out
    of time."""
    why = outcome.stopped_by
    if why == "cancelled":
        _finish(claimed, "cancelled", "cancelled", None)
    elif why in ("shutdown", "preempted"):
        detail = (
            f"the worker is shutting down; checkpoint at step {outcome.steps}"
            if why == "shutdown"
            else f"preempted for a high-priority job; checkpoint at step {outcome.steps}"
        )
        with session_scope() as session:
            handed = repository.hand_back(
                session, job_id=claimed.job_id, attempt=claimed.attempt, reason=why, detail=detail
            )
        if handed:
            enqueue(claimed.job_id)
    elif why == "timed_out":
        limit = runtime_limit(JobSpec.model_validate(claimed.spec), get_settings())
        # No promise of a checkpoint: an ended job's checkpoints go unless the deployment keeps them.
        error = f"timed out: ran past its limit of {limit:g}s; stopped at step {outcome.steps}"
        _finish(claimed, "failed", "timed_out", error)


def _train(claimed: Claimed, shutdown: threading.Event, enqueue: Callable[[str], None]) -> tuple[str, Trained | None]:
    """Train the claimed job and end it; how it ended, and the trained model when it succeeded (for its export)."""
    settings = get_settings()
    spec = JobSpec.model_validate(claimed.spec)
    device = resolve_device(spec.device)
    resume = _resume_state(claimed, device)
    remaining = runtime_limit(spec, settings) - (float(resume["elapsed"]) if resume else 0.0)
    recorder = SqlRecorder(
        job_id=claimed.job_id,
        attempt=claimed.attempt,
        flush_seconds=settings.flush_seconds,
        deadline=time.monotonic() + remaining,
        progress=(int(resume["epoch"]), int(resume["step"])) if resume else (0, 0),
        shutdown=shutdown,
    ).start()
    checkpoints = CheckpointStore(
        artifact_dir=settings.artifact_dir,
        job_id=claimed.job_id,
        attempt=claimed.attempt,
        every_seconds=settings.checkpoint_seconds,
        write_points=recorder.write_now,
    )
    try:
        judge = judge_for(claimed.job_id, claimed.sweep_id)
        outcome = train(spec, recorder, device=device, checkpointer=checkpoints, resume=resume, judge=judge)
    finally:
        recorder.close()
        if judge is not None:
            judge.log_summary()
    # Superseded while stopping or at the last write (close): a newer attempt owns the job, so this one ends silently.
    if recorder.superseded:
        raise StaleAttempt(f"job {claimed.job_id} attempt {claimed.attempt} was superseded")
    if outcome.status == "succeeded":
        early: EndReason | None = "pruned" if outcome.pruned else "stopped_early" if outcome.stopped_early else None
        if _finish(claimed, "succeeded", early, None, detail=outcome.reason):
            return "succeeded", outcome.trained
        return "succeeded", None
    _end_stopped(claimed, outcome, enqueue)
    return outcome.stopped_by or outcome.status, None


def _attempt(claimed: Claimed, shutdown: threading.Event, enqueue: Callable[[str], None]) -> tuple[str, Trained | None]:
    """Train and end the job, whatever goes wrong: how it ended; StaleAttempt when a newer attempt owns it."""
    try:
        return _train(claimed, shutdown, enqueue)
    except TrainingFailed as exc:
        _finish(claimed, "failed", exc.reason, str(exc))
        return exc.reason, None
    except MemoryError as exc:  # numpy or Python refused an allocation: the same cause, the same answer
        message = f"out of memory: {exc}; lower batch_size, the data or the model size"
        _finish(claimed, "failed", "out_of_memory", message)
        return "out_of_memory", None
    except torch.cuda.OutOfMemoryError as exc:
        message = f"CUDA out of memory: {exc}; lower batch_size or the model size"
        _finish(claimed, "failed", "out_of_memory", message)
        return "out_of_memory", None
    except StaleAttempt:
        raise
    except Exception as exc:  # any other error ends the job failed, with the reason, instead of killing the worker
        log.exception("job %s failed", claimed.job_id)
        _finish(claimed, "failed", "error", f"{type(exc).__name__}: {exc}")
        return "error", None


def _has_ended(claimed: Claimed) -> bool:
    """Whether the job has ended for good (not handed back to the queue, not taken by a newer attempt)."""
    with session_scope() as session:
        job = repository.get_job(session, job_id=claimed.job_id)
        return job.attempt == claimed.attempt and job.status in TERMINAL_STATUSES


def _after_end(claimed: Claimed, trained: Trained | None) -> None:
    """Once the job has ended: its checkpoints go (unless kept), then a succeeded job's model files are written."""
    try:
        ended = _has_ended(claimed)
    except Exception:
        log.exception("job %s: cannot tell whether it ended; its checkpoints stay", claimed.job_id)
        return
    if not ended:
        return  # handed back for a shutdown, or superseded: the next attempt resumes from the checkpoint
    job_ended(claimed.job_id)
    if trained is not None:
        export_model(claimed.job_id, JobSpec.model_validate(claimed.spec), trained)


def run_job(
    job_id: str,
    *,
    shutdown: threading.Event,
    enqueue: Callable[[str], None],
    slot: Slot | None = None,
    on_end: Callable[[str], None] | None = None,
) -> str | None:
    """Run the job if this delivery wins the claim; how it ended, or None when another attempt owns it.

    The worker's slot, when it has one, names the job while it runs, for the worker's next life if this one dies.
    `on_end` hears the job id once the job has ended or gone back to the queue, before its model is exported (a
    sweep queues its next trials without waiting for the export).
    """
    claimed = _claim(job_id, slot.worker_id if slot is not None else None)
    if claimed is None:
        log.info("job %s not claimed (already taken, ended, cancelled or missing)", job_id)
        return None
    set_attempt(claimed.attempt)
    log.info("job %s attempt %s started", job_id, claimed.attempt)
    started = time.monotonic()
    if slot is not None:
        slot.running(job_id, claimed.attempt)
    try:
        ended, trained = _attempt(claimed, shutdown, enqueue)
        if on_end is not None:
            on_end(job_id)
        _after_end(claimed, trained)
        del trained  # the model and its copies are not needed past here: the device memory can go back
    except StaleAttempt:
        log.warning("job %s attempt %s was superseded; it stops without writing", job_id, claimed.attempt)
        return None
    finally:
        if slot is not None:
            slot.idle()  # only now: a worker that dies while exporting leaves the job in its slot
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # hand the memory back: the next job on this GPU may need all of it
    log.info("job %s attempt %s ended (%s) in %.2fs", job_id, claimed.attempt, ended, time.monotonic() - started)
    return ended
