"""The Celery app both sides share: the API sends by task name, the worker registers the task on it."""

from celery import Celery

from core.settings import Settings

TRAIN_TASK = "gradyard.train_job"
DEFAULT_POOL = "default"


def queue_for(settings: Settings, pool: str) -> str:
    """The Celery queue of a pool: the configured queue for `default` (as before pools), `<queue>.<pool>` else."""
    return settings.queue if pool == DEFAULT_POOL else f"{settings.queue}.{pool}"


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured for hour-long training tasks on a Redis broker."""
    app = Celery("gradyard", broker=settings.broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,  # SQL holds every result; no result backend is needed
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,  # one process per GPU (or per CPU worker)
        worker_send_task_events=True,  # Flower (compose's `monitor` profile) sees tasks only through these events
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # the CLI's log handler writes to stdout; redirecting it would loop
        task_default_queue=settings.queue,
        broker_connection_retry_on_startup=True,
        # Above the longest job, so the broker never redelivers a message whose task is still running.
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout,
            # Sweep for expired unacknowledged messages every so often (not every 100 s, kombu's default).
            "unacked_restore_interval": min(10, settings.broker_visibility_timeout),
            "unacked_restore_throttle": 1,
        },
        broker_connection_timeout=3,
        enable_utc=True,
    )
    return app


def enqueue(app: Celery, job_id: str, *, queue: str | None = None) -> None:
    """Send a job's id to its pool's workers (by task name: the sender never imports the worker); only the
    dispatcher (core.dispatch) sends, so a pool's queue never holds more than its free slots."""
    app.send_task(
        TRAIN_TASK,
        args=[job_id],
        queue=queue or app.conf.task_default_queue,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0.2},
    )
