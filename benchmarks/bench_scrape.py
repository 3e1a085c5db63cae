"""What a Prometheus scrape of GET /metrics costs: N job rows (all statuses, with requeue rows and points) seeded
straight into SQLite and PostgreSQL, then scraped over keep-alive HTTP from a real `gradyard api` process.

    python -m benchmarks.bench_scrape [--jobs 1000,10000,100000]
"""

import argparse
import random
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from benchmarks.harness import (
    DIALECTS,
    console,
    exit_on_sigterm,
    fresh_database,
    gradyard_api,
    measure,
    parse_sizes,
    use_database,
    workspace,
    write_results,
)
from core.db import session_scope
from core.tables import Job, JobEvent, MetricPoint
from core.timeutil import utcnow

ENDED = ("succeeded",) * 6 + ("failed", "cancelled")
# A busy service: a backlog of 100 and 20 GPUs at work, whatever its history's length.
QUEUED, RUNNING = 100, 20


def _status(index: int) -> str:
    if index < QUEUED:
        return "queued"
    return "running" if index < QUEUED + RUNNING else ENDED[index % len(ENDED)]


def seed(count: int, *, rng: random.Random, old_active: bool) -> None:
    """`count` jobs over the last 30 days: QUEUED queued, RUNNING running, the rest ended; 1 in 10 requeued once;
    3 points each in the hot tail."""
    now, jobs, events, points = utcnow(), [], [], []
    for index in range(count):
        status = _status(index)
        active = status in ("queued", "running")
        # Ended jobs over the last 30 days; queued and running ones recent (--old-active: as old as the rest, so no
        # ended job is settled and every scrape reads them all: the worst case).
        span = 30 * 86400 if old_active or not active else 600
        created = now - timedelta(seconds=rng.uniform(60, span))
        started = None if status == "queued" else created + timedelta(seconds=rng.expovariate(1 / 60))
        ended = status in ("succeeded", "failed", "cancelled")
        finished = started + timedelta(seconds=rng.expovariate(1 / 900)) if started and ended else None
        job_id = str(uuid.uuid4())
        jobs.append(
            {"id": job_id, "name": "bench", "status": status, "spec": {}, "created_at": created, "started_at": started,
             "finished_at": finished, "heartbeat_at": started, "reason": "error" if status == "failed" else None}
        )  # fmt: skip
        if index % 10 == 0:
            events.append({"job_id": job_id, "status": "queued", "attempt": 1, "reason": "worker_lost", "at": now})
        points += [{"job_id": job_id, "name": "lr", "step": s, "epoch": s, "value": 0.1, "time": s} for s in (1, 2, 3)]
    with session_scope() as session:
        for table, rows in ((Job, jobs), (JobEvent, events), (MetricPoint, points)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start : start + 5000])
    if session.get_bind().dialect.name == "postgresql":  # what autovacuum does after a bulk load, before a scrape
        with session_scope() as session:
            session.execute(text("ANALYZE"))


def main() -> None:
    """Seed, scrape, print a table; numbers in test-artifacts/bench/scrape.json."""
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", default="1000,10000,100000", help="comma-separated job counts")
    parser.add_argument("--old-active", action="store_true", help="queued and running jobs as old as the ended ones")
    args = parser.parse_args()
    out, rows = console(), []
    for dialect in DIALECTS:
        for count in parse_sizes(args.jobs):
            with workspace("gradyard-bench-scrape-") as workdir, fresh_database(dialect, workdir) as url:
                with use_database(url):
                    seed(count, rng=random.Random(0), old_active=args.old_active)
                with gradyard_api(url, workdir) as client:

                    def scrape() -> Any:
                        response = client.get("/metrics")
                        response.raise_for_status()
                        return response

                    timing = measure(scrape, sized=lambda r: (len(r.content), 0), budget_s=10, max_repeats=30)
            rows.append({"dialect": dialect, "jobs": count, "old_active": args.old_active, **timing.as_json()})
            out.print(f"{dialect:10} {count:>8,} jobs  p50 {timing.p50:8.1f} ms  p95 {timing.p95:8.1f} ms")
    path = write_results("scrape-old-active" if args.old_active else "scrape", {"rows": rows})
    out.print(f"numbers in {path}")


if __name__ == "__main__":
    main()
