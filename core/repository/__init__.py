"""Every SQL statement gradyard runs. Routes and tasks call these named functions, never SQL of their own."""

from core.repository.events import job_events, job_events_after, log_event
from core.repository.jobs import (
    count_active_jobs,
    create_job,
    delete_job,
    find_job_by_idempotency_key,
    get_job,
    list_jobs,
    request_cancel,
)
from core.repository.lifecycle import (
    claim_job,
    finish_job,
    hand_back,
    record_checkpoint,
    record_progress,
    rewind_history,
)
from core.repository.models import (
    abandon_export,
    abandon_stale_exports,
    exporting_jobs,
    set_bytes_held,
    set_model_state,
)
from core.repository.points import read_metrics
from core.repository.reconcile import queued_since, requeue_lost, running_attempt, stale_running, touch_enqueued
from core.repository.submissions import NewJob, replay_job, store_job, withdraw_job
from core.repository.users import (
    KeyInfo,
    get_key,
    issue_first_admin_key,
    issue_key,
    list_keys,
    lock_user_for_submit,
    principal_for_key,
    revoke_key,
    set_key_admin,
)
from core.repository.workers import Presence, WorkerRow, list_workers, pool_devices, register_worker

__all__ = [
    "KeyInfo",
    "NewJob",
    "Presence",
    "WorkerRow",
    "abandon_export",
    "abandon_stale_exports",
    "claim_job",
    "count_active_jobs",
    "create_job",
    "delete_job",
    "exporting_jobs",
    "find_job_by_idempotency_key",
    "finish_job",
    "get_job",
    "get_key",
    "hand_back",
    "issue_first_admin_key",
    "issue_key",
    "job_events",
    "job_events_after",
    "list_jobs",
    "list_keys",
    "list_workers",
    "lock_user_for_submit",
    "log_event",
    "pool_devices",
    "principal_for_key",
    "queued_since",
    "read_metrics",
    "record_checkpoint",
    "record_progress",
    "register_worker",
    "replay_job",
    "request_cancel",
    "requeue_lost",
    "revoke_key",
    "rewind_history",
    "running_attempt",
    "set_bytes_held",
    "set_key_admin",
    "set_model_state",
    "stale_running",
    "store_job",
    "touch_enqueued",
    "withdraw_job",
]
