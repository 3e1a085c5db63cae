"""How batches of points are stored on SQLite and PostgreSQL: a batch of PACK_AT points or more is appended to its
series' last chunk (never rows), small writes go to rows until the open end fills a chunk, and reads stay exact."""

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import repository
from core.chunks import CHUNK_POINTS
from core.metrics import Point
from core.repository.points import PACK_AT
from core.tables import MetricChunk
from tests.core.test_repository import new_job, stored_rows, write

NAMES = ("train_loss", "val_loss")


def curve(steps: range) -> list[Point]:
    """Two interleaved series, as a loop logs them; a NaN at step 777 of train_loss."""
    return [
        Point(name, s, 1 + s // 100, math.nan if (name, s) == ("train_loss", 777) else k + 1 / s, s / 3)
        for s in steps
        for k, name in enumerate(NAMES)
    ]


def chunk_sizes(session: Session, job_id: str) -> dict[str, list[int]]:
    query = select(MetricChunk.name, MetricChunk.count).where(MetricChunk.job_id == job_id)
    sizes: dict[str, list[int]] = {}
    for name, count in session.execute(query.order_by(MetricChunk.name, MetricChunk.first_step)):
        sizes.setdefault(name, []).append(count)
    return sizes


def started(session: Session) -> str:
    job_id = new_job(session)
    repository.claim_job(session, job_id=job_id)
    session.commit()
    return job_id


def test_batches_are_appended_to_the_last_chunk_and_never_become_rows(session: Session) -> None:
    job_id = started(session)
    write(session, job_id, curve(range(1, 501)))
    assert (stored_rows(session, job_id), chunk_sizes(session, job_id)) == ((0, 2), {n: [500] for n in NAMES})
    write(session, job_id, curve(range(1, 501)))  # a retried batch: nothing new
    write(session, job_id, curve(range(501, 1301)))
    assert (stored_rows(session, job_id), chunk_sizes(session, job_id)) == ((0, 4), {n: [1000, 300] for n in NAMES})
    write(session, job_id, curve(range(1301, 1301 + PACK_AT)))
    assert chunk_sizes(session, job_id) == {n: [1000, 300 + PACK_AT] for n in NAMES}
    summary = repository.get_job(session, job_id=job_id).summary
    assert {n: summary[n]["count"] for n in NAMES} == {n: 1300 + PACK_AT for n in NAMES}


def test_small_writes_are_rows_until_the_open_end_fills_a_chunk(session: Session) -> None:
    job_id = started(session)
    write(session, job_id, curve(range(1, 951)))
    write(session, job_id, curve(range(951, 981)))  # 30 points a series: rows after a chunk of 950
    assert (stored_rows(session, job_id), chunk_sizes(session, job_id)) == ((60, 2), {n: [950] for n in NAMES})
    write(session, job_id, curve(range(981, 1001)))  # 950 + 30 + 20: one full chunk, the rows gone
    assert (stored_rows(session, job_id), chunk_sizes(session, job_id)) == ((0, 2), {n: [CHUNK_POINTS] for n in NAMES})
    write(session, job_id, curve(range(1001, 1011)))
    assert stored_rows(session, job_id) == (20, 2)


def test_a_history_written_in_batches_reads_as_one_written_at_once(session: Session) -> None:
    batched, whole = started(session), started(session)
    for first in range(1, 10_501, 500):
        write(session, batched, curve(range(first, first + 500)))
    write(session, whole, curve(range(1, 10_501)))
    assert chunk_sizes(session, batched) == chunk_sizes(session, whole) == {n: [1000] * 10 + [500] for n in NAMES}
    for kwargs in ({}, {"max_points": 40}, {"after_step": 10_250}, {"after_step": 999, "through_step": 2001}):
        got = repository.read_metrics(session, job_id=batched, names=None, **{"after_step": 0} | kwargs)
        want = repository.read_metrics(session, job_id=whole, names=None, **{"after_step": 0} | kwargs)
        assert {n: s.to_lists() for n, s in got.items()} == {n: s.to_lists() for n, s in want.items()}
    train = repository.read_metrics(session, job_id=batched, names=["train_loss"], after_step=0)["train_loss"]
    assert train.step.tolist() == list(range(1, 10_501)) and math.isnan(train.value[776])
    assert train.value[1:].tolist()[:3] == [1 / 2, 1 / 3, 1 / 4] and train.time[-1] == 10_500 / 3


def test_a_batch_out_of_step_order_is_sorted_and_its_first_point_at_a_step_wins(session: Session) -> None:
    job_id = started(session)
    batch = [Point("lr", s, 1, float(s), 0.5) for s in (3, 1, 2)] + [Point("lr", 2, 1, 99.0, 0.5)]
    write(session, job_id, batch)
    series = repository.read_metrics(session, job_id=job_id, names=["lr"], after_step=0)["lr"]
    assert (series.step.tolist(), series.value.tolist()) == ([1, 2, 3], [1.0, 2.0, 3.0])
