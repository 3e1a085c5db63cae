"""A job's life in one vocabulary: the statuses it passes through and the reasons it ends or goes back to the queue.

Literals rather than enums: the API schema shows them as plain strings (as it always has), SQL stores them as
strings, and mypy checks every place that writes one.
"""

from typing import Literal, get_args

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
TERMINAL_STATUSES: tuple[JobStatus, ...] = ("succeeded", "failed", "cancelled")
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("queued", "running")

# Why the training loop stops between two steps: what the recorder answers when the loop asks.
StopReason = Literal["superseded", "cancelled", "shutdown", "timed_out", "preempted"]
# Why a job ended or went back to the queue (job.reason and the state log's reason). A superseded attempt writes
# nothing, so its reason is never stored.
EndReason = (
    StopReason
    | Literal[
        "stopped_early",
        "diverged",
        "dataset_missing",
        "out_of_memory",
        "error",
        "worker_lost",
        "message_lost",
        "pruned",  # a sweep's pruner stopped the trial: it ends succeeded, at the epoch it reached
    ]
)

# A succeeded job's model files (written after the job ends, so a failed export never fails the job); None before.
ModelStatus = Literal["exporting", "ready", "unavailable"]

# A sweep's state: running until its last trial ends (succeeded, even when some trials failed), stopped by its owner,
# or failed when no trial could succeed.
SweepState = Literal["running", "succeeded", "stopped", "failed"]
