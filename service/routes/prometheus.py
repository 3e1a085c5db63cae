"""GET /metrics: Prometheus' text format, for an admin key: this process's HTTP numbers, and the domain's from SQL."""

import time
from datetime import timedelta

from fastapi import APIRouter, Request, Response

from core.repository.endings import Histogram
from core.repository.monitoring import POOL_LABELS, Snapshot, read_snapshot
from core.settings import get_settings
from core.timeutil import utcnow
from service.auth import PrincipalDep
from service.deps import SessionDep
from service.http_metrics import HttpStats
from service.openapi_parts import header, problem_answer
from service.problems import problem
from service.prometheus_text import CONTENT_TYPE, Family, render

router = APIRouter(tags=["operations"])
TEXT = {"schema": {"type": "string", "description": "Prometheus text exposition format, version 0.0.4."}}
NOT_ADMIN = "the metrics are for operators: use an admin key (`gradyard keys create --user NAME --admin`)"


def _histograms(family: Family, seen: dict[tuple[str, ...], Histogram]) -> Family:
    for labels in sorted(seen):
        h = seen[labels]
        family.add_histogram(labels, buckets=h.buckets, counts=h.counts, count=h.count, total=h.total)
    return family


def domain_families(snapshot: Snapshot, *, heartbeat_timeout: float) -> list[Family]:
    """The job and queue metrics of one snapshot; no job id and no user in any label."""
    pool = POOL_LABELS
    points = Family("gradyard_metric_points_stored", "Metric points stored, over all jobs.", "gauge")
    points.add((), float(snapshot.points_stored))
    timeout = Family("gradyard_heartbeat_timeout_seconds", "A running job silent this long lost its worker.", "gauge")
    timeout.add((), heartbeat_timeout)
    return [
        Family("gradyard_jobs", "Jobs by status.", "gauge", (*pool, "status")).add_all(
            {k: float(v) for k, v in snapshot.jobs.items()}
        ),
        Family("gradyard_queue_depth", "Queued jobs.", "gauge", pool).add_all(
            {k: float(v) for k, v in snapshot.queue_depth.items()}
        ),
        Family(
            "gradyard_oldest_queued_seconds",
            "Seconds since the oldest queued job was submitted (0: none).",
            "gauge",
            pool,
        ).add_all(snapshot.oldest_queued_seconds),
        Family(
            "gradyard_oldest_heartbeat_seconds",
            "Seconds since the stalest heartbeat of a running job (0: none runs); past the heartbeat timeout its "
            "worker is gone.",
            "gauge",
            pool,
        ).add_all(snapshot.stale_heartbeat_seconds),
        timeout,
        Family(
            "gradyard_workers",
            "Live workers by pool (seen within GRADYARD_WORKER_TIMEOUT_SECONDS, not stopped); 0: the pool has none.",
            "gauge",
            ("pool",),
        ).add_all({k: float(v) for k, v in snapshot.live_workers.items()}),
        Family(
            "gradyard_worker_gpu_utilization_ratio",
            "A live GPU worker's device busy share (0 to 1) at its last heartbeat, as NVML samples it; none on CPU.",
            "gauge",
            ("pool", "worker"),
        ).add_all(snapshot.gpu_utilization),
        Family(
            "gradyard_worker_gpu_memory_used_bytes",
            "A live GPU worker's device memory in use at its last heartbeat (all processes on the device).",
            "gauge",
            ("pool", "worker"),
        ).add_all(snapshot.gpu_memory_used_bytes),
        Family(
            "gradyard_worker_gpu_memory_bytes", "A live GPU worker's device memory in all.", "gauge", ("pool", "worker")
        ).add_all(snapshot.gpu_memory_bytes),
        _histograms(
            Family(
                "gradyard_job_queue_wait_seconds",
                "Seconds from submit to the start of the last attempt, for each ended job that ran.",
                "histogram",
                pool,
            ),
            snapshot.endings.queue_wait,
        ),
        _histograms(
            Family(
                "gradyard_job_duration_seconds",
                "Seconds an ended job's last attempt ran, by outcome.",
                "histogram",
                (*pool, "status"),
            ),
            snapshot.endings.duration,
        ),
        Family(
            "gradyard_jobs_finished", "Ended jobs by status and reason.", "counter", (*pool, "status", "reason")
        ).add_all({k: float(v) for k, v in snapshot.endings.finished.items()}),
        Family(
            "gradyard_job_requeues",
            "Times a job went back to the queue by reason (worker_lost, shutdown: restarted; message_lost: resent).",
            "counter",
            ("reason",),
        ).add_all({k: float(v) for k, v in snapshot.requeues.items()}),
        points,
    ]


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": TEXT},
            "description": "Every metric, in Prometheus' text format.",
            "headers": {"Cache-Control": header("no-store: every scrape reads the numbers afresh.")},
        },
        403: problem_answer("The key is not an admin key."),
    },
)
def read_prometheus_metrics(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Prometheus metrics (admin key): HTTP requests and latencies of this API process by route template, and jobs,
    queue, waits, run times, endings, requeues and points from the database."""
    if not principal.is_admin:
        return problem(403, "Forbidden", NOT_ADMIN, kind="forbidden")
    began = time.perf_counter()
    settings, now = get_settings(), utcnow()
    snapshot = read_snapshot(
        session,
        now=now,
        settled=request.app.state.settled_endings,
        alive_after=now - timedelta(seconds=settings.worker_timeout_seconds),
        default_pool=settings.default_pool,
    )
    families = domain_families(snapshot, heartbeat_timeout=settings.heartbeat_timeout_seconds)
    took = Family("gradyard_metrics_collect_seconds", "Seconds this scrape's database reads took.", "gauge")
    took.add((), time.perf_counter() - began)
    stats: HttpStats = request.app.state.http_stats
    body = render([*families, took, *stats.families()])
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
