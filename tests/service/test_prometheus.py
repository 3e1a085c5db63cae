"""GET /metrics: admin only, Prometheus' text format, and numbers that match the job rows they are read from."""

import uuid
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import update

from core.db import session_scope
from core.repository.workers import GpuReading, beat
from core.tables import Job, JobEvent, MetricPoint, Worker
from core.timeutil import utcnow
from service.app import create_app
from tests.pools import SLOTS, simulate_workers
from tests.prom_text import bucket, parse, value
from tests.service.conftest import client_with_key, key_for


def _job(status: str, *, waited: float | None, ran: float | None, reason: str | None = None, age: float = 0) -> str:
    """A job row submitted `age + waited + ran` seconds ago that waited and ran as long as asked (None: never)."""
    now = utcnow()
    created = now - timedelta(seconds=age + (waited or 0) + (ran or 0))
    started = created + timedelta(seconds=waited) if waited is not None else None
    finished = started + timedelta(seconds=ran) if started is not None and ran is not None else None
    if status in ("succeeded", "failed", "cancelled") and finished is None:  # ended before it started: cancelled
        finished = now - timedelta(seconds=age)
    job_id = str(uuid.uuid4())
    with session_scope() as session:
        session.add(
            Job(
                id=job_id,
                name="seeded",
                status=status,
                spec={},
                reason=reason,
                created_at=created,
                started_at=started,
                finished_at=finished,
                heartbeat_at=started if status == "running" else None,
            )
        )
    return job_id


def test_metrics_need_an_admin_key(app: FastAPI) -> None:
    anonymous = client_with_key(app, None).get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    user = client_with_key(app, key_for("alice")).get("/metrics")
    assert user.status_code == 403
    assert user.headers["content-type"] == "application/problem+json"
    assert user.json()["type"] == "urn:gradyard:problem:forbidden"
    assert "admin key" in user.json()["detail"]
    admin = client_with_key(app, key_for("root", admin=True)).get("/metrics")
    assert admin.status_code == 200
    assert admin.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_an_empty_service_says_zero(app: FastAPI) -> None:
    families = parse(client_with_key(app, key_for("root", admin=True)).get("/metrics").text)
    assert value(families, "gradyard_queue_depth", pool="default") == 0
    assert value(families, "gradyard_oldest_queued_seconds", pool="default") == 0
    assert value(families, "gradyard_oldest_heartbeat_seconds", pool="default") == 0
    assert value(families, "gradyard_metric_points_stored") == 0
    assert value(families, "gradyard_heartbeat_timeout_seconds") == 30
    assert families["gradyard_jobs"].samples == {}
    assert value(families, "gradyard_workers", pool="default") == SLOTS  # the fixture's simulated workers


def test_a_pool_a_worker_joined_is_listed_with_its_live_workers_and_their_gpus(app: FastAPI) -> None:
    first, second = simulate_workers(2, pool="a100", device="NVIDIA A100")
    with session_scope() as session:  # as the workers' heartbeats write them (worker/presence.py reads NVML)
        session.execute(update(Worker).where(Worker.id.in_([first, second])).values(gpu_memory_bytes=80 * 2**30))
        beat(session, worker_id=first, gpu=GpuReading(utilization=0.75, memory_used_bytes=12 * 2**30))
    admin = client_with_key(app, key_for("root", admin=True))
    families = parse(admin.get("/metrics").text)
    assert value(families, "gradyard_workers", pool="a100") == 2
    assert value(families, "gradyard_queue_depth", pool="a100") == 0  # a pool with nothing queued still says so
    assert value(families, "gradyard_worker_gpu_utilization_ratio", pool="a100", worker=first) == 0.75
    assert value(families, "gradyard_worker_gpu_memory_used_bytes", pool="a100", worker=first) == 12 * 2**30
    assert value(families, "gradyard_worker_gpu_memory_bytes", pool="a100", worker=first) == 80 * 2**30
    # No reading yet (or a CPU worker): no sample, rather than a made-up 0.
    gpu_workers = {dict(labels)["worker"] for _, labels in families["gradyard_worker_gpu_utilization_ratio"].samples}
    assert gpu_workers == {first}
    listed = {w["id"]: w for w in admin.get("/workers").json()["items"]}
    assert (listed[first]["gpu_utilization"], listed[second]["gpu_utilization"]) == (0.75, None)


def test_job_metrics_are_read_from_the_rows(app: FastAPI) -> None:
    _job("queued", waited=None, ran=None, age=120)
    _job("queued", waited=None, ran=None, age=5)
    _job("running", waited=3, ran=None, age=40)  # its heartbeat is 40 s old: past the 30 s timeout
    _job("succeeded", waited=2, ran=50)
    _job("succeeded", waited=20, ran=4000, reason="stopped_early")
    failed = _job("failed", waited=700, ran=10, reason="diverged")
    _job("cancelled", waited=None, ran=None, reason="cancelled")  # cancelled while queued: never ran
    with session_scope() as session:
        session.add(JobEvent(job_id=failed, status="queued", attempt=1, reason="worker_lost"))
        session.add(JobEvent(job_id=failed, status="queued", attempt=2, reason="shutdown"))
        session.add(JobEvent(job_id=failed, status="queued", attempt=2, reason="worker_lost"))
        session.add_all(MetricPoint(job_id=failed, name="lr", step=s, epoch=s, value=0.1, time=s) for s in (1, 2, 3))
    client = client_with_key(app, key_for("root", admin=True))
    families = parse(client.get("/metrics").text)

    assert {dict(labels)["status"]: n for (_, labels), n in families["gradyard_jobs"].samples.items()} == {
        "queued": 2,
        "running": 1,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 1,
    }
    assert value(families, "gradyard_queue_depth", pool="default") == 2
    assert 120 <= value(families, "gradyard_oldest_queued_seconds", pool="default") < 130
    assert 40 <= value(families, "gradyard_oldest_heartbeat_seconds", pool="default") < 50
    # Queue wait: every ended job that ran (2, 20, 700 s).
    wait = "gradyard_job_queue_wait_seconds"
    assert [bucket(families, wait, le, pool="default") for le in ("1", "5", "30", "600", "1800", "+Inf")] == [
        0,
        1,
        2,
        2,
        3,
        3,
    ]
    assert value(families, wait, wait + "_sum", pool="default") == 722
    # Run time by outcome: succeeded 50 s and 4000 s, failed 10 s; the cancelled job never ran.
    run = "gradyard_job_duration_seconds"
    assert [bucket(families, run, le, status="succeeded", pool="default") for le in ("30", "60", "3600", "7200")] == [
        0,
        1,
        1,
        2,
    ]
    assert bucket(families, run, "15", status="failed", pool="default") == 1
    assert value(families, run, run + "_sum", status="succeeded", pool="default") == 4050
    assert ("gradyard_job_duration_seconds_count", (("status", "cancelled"),)) not in families[run].samples
    finished = "gradyard_jobs_finished_total"
    assert value(families, finished, status="succeeded", reason="none", pool="default") == 1
    assert value(families, finished, status="succeeded", reason="stopped_early", pool="default") == 1
    assert value(families, finished, status="failed", reason="diverged", pool="default") == 1
    assert value(families, finished, status="cancelled", reason="cancelled", pool="default") == 1
    assert value(families, "gradyard_job_requeues_total", reason="worker_lost") == 2
    assert value(families, "gradyard_job_requeues_total", reason="shutdown") == 1
    assert value(families, "gradyard_metric_points_stored") == 3


def test_http_requests_are_counted_by_route_template(app: FastAPI) -> None:
    client = client_with_key(app, key_for("root", admin=True))
    missing = str(uuid.uuid4())
    for _ in range(3):
        assert client.get(f"/jobs/{missing}").status_code == 404
    assert client.get("/no/such/path/" + missing).status_code == 404
    text = client.get("/metrics").text
    families = parse(text)
    requests = "gradyard_http_requests_total"
    assert value(families, requests, method="GET", route="/jobs/{job_id}", code="404") == 3
    assert value(families, requests, method="GET", route="unmatched", code="404") == 1
    latency = "gradyard_http_request_duration_seconds"
    assert value(families, latency, latency + "_count", method="GET", route="/jobs/{job_id}") == 3
    assert missing not in text  # no id in any label


def test_settled_endings_are_counted_once_and_agree_with_a_fresh_process(app: FastAPI) -> None:
    _job("succeeded", waited=10, ran=100, age=3 * 3600)  # settled: submitted hours before anything active
    _job("queued", waited=None, ran=None, age=2 * 3600)  # holds everything submitted after it unsettled
    _job("failed", waited=1, ran=2, age=60, reason="error")
    client = client_with_key(app, key_for("root", admin=True))
    first = parse(client.get("/metrics").text)
    _job("succeeded", waited=3, ran=7)
    second = parse(client.get("/metrics").text)
    fresh = parse(client_with_key(create_app(), key_for("ops", admin=True)).get("/metrics").text)
    run = "gradyard_job_duration_seconds"
    assert value(first, run, run + "_count", status="succeeded", pool="default") == 1
    assert value(second, run, run + "_count", status="succeeded", pool="default") == 2
    for name in (run, "gradyard_job_queue_wait_seconds", "gradyard_jobs_finished_total"):
        assert second[name].samples == fresh[name].samples
