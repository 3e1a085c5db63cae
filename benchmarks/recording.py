"""The cost of per-step logging: the engine on one spec with and without `log_every_steps: 1`, both through a real
SqlRecorder writing to a SQLite database (its writer thread in this process, as in a worker)."""

import contextlib
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from benchmarks.harness import start_job, use_database
from core.migrate import upgrade_to_head
from core.settings import get_settings
from core.spec import JobSpec
from worker.engine import train
from worker.recorder import SqlRecorder


@contextlib.contextmanager
def sqlite_database() -> Iterator[Path]:
    """This process's settings pointed at a fresh migrated SQLite database, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="gradyard-bench-rec-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'gradyard.db'}"
        upgrade_to_head(url, wait_seconds=5)
        with use_database(url):
            yield Path(tmp)


class TimedRecorder(SqlRecorder):
    """A SqlRecorder that adds up what its writes cost (wall and the writing thread's CPU), for --profile."""

    writes = 0
    write_seconds = 0.0
    write_cpu_seconds = 0.0

    def _write_buffer_locked(self) -> None:
        start, cpu_start = time.perf_counter(), time.thread_time()
        try:
            super()._write_buffer_locked()
        finally:
            type(self).writes += 1
            type(self).write_seconds += time.perf_counter() - start
            type(self).write_cpu_seconds += time.thread_time() - cpu_start


def recorded_run(
    spec: JobSpec,
    *,
    device: torch.device,
    profile: cProfile.Profile | None = None,
    recorder_class: type[SqlRecorder] = SqlRecorder,
) -> tuple[float, float]:
    """Wall and CPU seconds (this process, the writer thread too) to train the spec through a SqlRecorder, its last
    write included, as a worker runs it."""
    job_id, attempt = start_job(name="bench", spec=spec.model_dump(mode="json"))
    recorder = recorder_class(job_id=job_id, attempt=attempt, flush_seconds=get_settings().flush_seconds)
    start, cpu_start = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    recorder.start()
    try:
        outcome = train(spec, recorder, device=device)
    finally:
        recorder.close()
        if profile is not None:
            profile.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert outcome.status == "succeeded", outcome
    return seconds, cpu


def profile_top(spec: JobSpec, *, device: torch.device, lines: int = 25) -> str:
    """cProfile's top functions by own time for one recorded run of the spec (the training thread only), and what
    the recorder's writes cost (they run mostly on its writer thread, which cProfile does not see)."""
    profile = cProfile.Profile()
    TimedRecorder.writes, TimedRecorder.write_seconds, TimedRecorder.write_cpu_seconds = 0, 0.0, 0.0
    seconds, cpu = recorded_run(spec, device=device, profile=profile, recorder_class=TimedRecorder)
    out = io.StringIO()
    print(
        f"run: {seconds:.3f} s wall, {cpu:.3f} s CPU; recorder writes: {TimedRecorder.writes}, "
        f"{TimedRecorder.write_seconds:.3f} s wall, {TimedRecorder.write_cpu_seconds:.3f} s CPU",
        file=out,
    )
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()
