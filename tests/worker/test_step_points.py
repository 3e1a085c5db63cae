"""Per-step points held on the device and read back once per flush: the same recorded values as reading each point
alone (bit for bit), a divergence still named at its own step, and one record per flush."""

from typing import Any

import pytest
import torch

from core.spec import JobSpec
from tests.worker.recording import CPU, ListRecorder
from tests.worker.test_engine import THERMOMETER
from worker import step_points
from worker.engine import TrainingFailed, train
from worker.step_points import StepBuffer

DIGITS = {"dataset": "digits", "model": "mlp", "loss": "cross_entropy", "optimizer": "adam", "epochs": 2}


def recorded(raw: dict[str, Any], *, clock: Any = None) -> ListRecorder:
    recorder = ListRecorder()
    train(JobSpec.model_validate(raw), recorder, device=CPU, **({"clock": clock} if clock else {}))
    return recorder


def without_time(recorder: ListRecorder) -> list[tuple[str, int, int, float]]:
    return [(p.name, p.step, p.epoch, p.value) for p in recorder.points]


def test_held_points_are_the_values_read_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = DIGITS | {"log_every_steps": 1}
    held = recorded(raw)
    monkeypatch.setattr(step_points, "CAPACITY", 1)  # a flush after every point: one sync each, as before
    alone = recorded(raw)
    assert len(held.series("train_loss")) == 46 and held.steps("lr") == list(range(1, 47))
    assert without_time(held) == without_time(alone)  # floats compared exactly


def test_points_reach_the_recorder_once_per_flush() -> None:
    frozen = recorded(DIGITS | {"log_every_steps": 1}, clock=lambda: 0.0)  # no flush is ever due by time
    assert frozen.progress == [(0, 22), (1, 23), (1, 45), (2, 46)]  # per-step points, epoch's end, per-step, end


def test_a_full_buffer_is_flushed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(step_points, "CAPACITY", 10)
    frozen = recorded(DIGITS | {"log_every_steps": 1}, clock=lambda: 0.0)
    assert frozen.progress[:4] == [(0, 10), (0, 20), (0, 22), (1, 23)]


@pytest.mark.parametrize("capacity", [1, 1024])
def test_a_blow_up_is_named_at_its_own_step_and_is_the_last_point(
    monkeypatch: pytest.MonkeyPatch, capacity: int
) -> None:
    monkeypatch.setattr(step_points, "CAPACITY", capacity)
    raw = THERMOMETER | {
        "dataset": {"name": "thermometer", "val_fraction": 0.0},
        "optimizer": {"name": "sgd", "lr": 1.0},
        "batch_size": 8,
        "log_every_steps": 1,
    }
    recorder = ListRecorder()
    with pytest.raises(TrainingFailed, match=r"diverged: train_loss is \S+ at epoch 1 \(step (\d+)\)") as failed:
        train(JobSpec.model_validate(raw), recorder, device=CPU)
    steps = recorder.steps("train_loss")
    assert f"(step {steps[-1]})" in str(failed.value) and steps == list(range(1, len(steps) + 1))


def test_the_buffer_divides_as_the_window_does_and_reads_back_in_order() -> None:
    buffer = StepBuffer(capacity=3)
    windows = [(torch.tensor(0.1 * 64), 64), (torch.tensor(7.3), 3), (torch.tensor(float("nan")), 1)]
    for step, (total, samples) in enumerate(windows, start=1):
        buffer.add(total, samples, step=step, epoch=1, time=step / 10, lr=0.5)
    assert buffer.due(0.0) and len(buffer) == 3
    drained = buffer.drain()
    assert [p.value for p in drained[:2]] == [(total / samples).item() for total, samples in windows[:2]]
    assert [p.step for p in drained] == [1, 2, 3] and drained[2].value != drained[2].value
    assert (len(buffer), buffer.drain(), buffer.due(10.0)) == (0, [], False)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_the_means_are_the_window_s_own_division_bit_for_bit(device: str) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    generator = torch.Generator().manual_seed(0)
    totals = (torch.rand(4096, generator=generator) * torch.logspace(-6, 6, 4096)).to(device)
    samples = torch.randint(1, 5000, (4096,), generator=generator).tolist()
    held = StepBuffer(capacity=10_000)
    for step, (total, count) in enumerate(zip(totals, samples, strict=True), start=1):
        held.add(total.clone(), count, step=step, epoch=1, time=0.0, lr=0.1)
    one_at_a_time = [(total / count).item() for total, count in zip(totals, samples, strict=True)]
    assert [point.value for point in held.drain()] == one_at_a_time  # what window.mean().item() gave each step
