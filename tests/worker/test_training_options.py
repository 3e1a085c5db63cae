"""Schedules, early stopping, gradient clipping, per-step logging, precision and seeds, through the engine."""

import math
from typing import Any

import pytest
import torch

from core.spec import JobSpec
from tests.worker.recording import CPU, ListRecorder, run
from worker.engine import Outcome, TrainingFailed
from worker.losses.objective import build_objective
from worker.steps import Stepper

# 200 training samples in batches of 50: four steps per epoch.
FOUR_STEPS = {
    "dataset": {"name": "synthetic_regression", "n_samples": 250},
    "model": "linear",
    "loss": "mse",
    "optimizer": {"name": "sgd", "lr": 1.0},
    "batch_size": 50,
}
# A learning rate so small that nothing improves: what plateaus and patience are for.
STAGNANT = FOUR_STEPS | {"optimizer": {"name": "sgd", "lr": 1e-6}}


def lrs(scheduler: dict[str, Any], epochs: int, **more: Any) -> list[float]:
    return run(FOUR_STEPS | {"scheduler": scheduler, "epochs": epochs} | more)[1].series("lr")


def test_epoch_schedules_follow_pytorch_in_epochs() -> None:
    assert lrs({"name": "multistep", "milestones": [2, 4], "gamma": 0.1}, 5) == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    assert lrs({"name": "exponential", "gamma": 0.5}, 4) == pytest.approx([1, 0.5, 0.25, 0.125])
    restarts = lrs({"name": "cosine_warm_restarts", "T_0": 2, "eta_min": 0.0}, 4)
    assert restarts[0] > restarts[1] and restarts[2] > restarts[1] and restarts[2:] == pytest.approx(restarts[:2])


def test_cosine_and_one_cycle_move_every_step() -> None:
    cosine = lrs({"name": "cosine", "eta_min": 0.01}, 5, log_every_steps=1)
    assert len(cosine) == 20 and cosine[0] == 1.0 and cosine == sorted(cosine, reverse=True)
    assert cosine[-1] == pytest.approx(0.01 + 0.99 * (1 + math.cos(math.pi * 19 / 20)) / 2)
    cycle = lrs({"name": "one_cycle", "max_lr": 0.5, "pct_start": 0.25, "div_factor": 10.0}, 5, log_every_steps=1)
    peak = cycle.index(max(cycle))
    assert cycle[0] == pytest.approx(0.05) and max(cycle) == pytest.approx(0.5) and peak == 4
    assert cycle[: peak + 1] == sorted(cycle[: peak + 1]) and cycle[peak:] == sorted(cycle[peak:], reverse=True)


def test_linear_warmup_ramps_then_hands_over() -> None:
    warmup = {"name": "linear_warmup", "warmup_steps": 4, "start_factor": 0.2, "then": {"name": "step", "step_size": 1}}
    steps = lrs(warmup, 3, log_every_steps=1)
    assert steps[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])  # the ramp over the first 4 steps
    assert steps[5:8] == pytest.approx([1.0, 1.0, 1.0]) and steps[8:] == pytest.approx([0.1] * 4)


def test_reduce_on_plateau_cuts_the_rate_when_the_metric_stalls() -> None:
    raw = STAGNANT | {"scheduler": {"name": "reduce_on_plateau", "patience": 1, "factor": 0.5}, "epochs": 7}
    assert run(raw)[1].series("lr") == pytest.approx([1e-6] * 3 + [5e-7] * 2 + [2.5e-7] * 2)


def test_early_stopping_ends_succeeded_and_says_why() -> None:
    raw = STAGNANT | {"early_stopping": {"metric": "val_loss", "patience": 2, "min_delta": 1e-3}, "epochs": 50}
    outcome, recorder = run(raw)
    best = recorder.series("val_loss")[0]
    assert outcome == Outcome(
        "succeeded",
        3,
        12,
        stopped_early=True,
        reason=f"stopped early at epoch 3: val_loss did not improve by more than 0.001 for 2 epochs "
        f"(best {best:.6g} at epoch 1)",
    )
    assert len(recorder.series("val_loss")) == 3


def test_early_stopping_lets_an_improving_run_finish() -> None:
    raw = {
        "dataset": "digits",
        "model": "mlp",
        "loss": "cross_entropy",
        "optimizer": "adam",
        "epochs": 4,
        "early_stopping": {"metric": "val_accuracy", "patience": 2},
    }
    assert run(raw)[0] == Outcome("succeeded", 4, 4 * 23)


def test_per_step_logging_records_train_loss_and_lr_between_epochs() -> None:
    raw = {"dataset": "digits", "model": "linear", "loss": "cross_entropy", "optimizer": "sgd", "epochs": 2}
    outcome, recorder = run(raw | {"log_every_steps": 5})
    assert outcome.steps == 46
    expected = [5, 10, 15, 20, 23, 25, 30, 35, 40, 45, 46]  # every 5th step, and each epoch's end
    assert recorder.steps("train_loss") == expected and recorder.steps("lr") == expected
    assert recorder.steps("val_accuracy") == [23, 46]
    # Per-step points arrive a flush at a time, each with the progress of its last point (mid-epoch: epochs completed).
    assert (0, 20) in recorder.progress and (1, 23) in recorder.progress
    assert {epoch for epoch, step in recorder.progress if step < 23} == {0}
    # Each point is the mean since the previous one; the first epoch's points average to the plain epoch mean.
    plain = run(raw)[1].series("train_loss")
    first_epoch = recorder.series("train_loss")[:5]
    weights = [5 * 64, 5 * 64, 5 * 64, 5 * 64, 1438 - 20 * 64]
    assert sum(v * w for v, w in zip(first_epoch, weights, strict=True)) / 1438 == pytest.approx(plain[0], rel=1e-5)


def test_clipping_bounds_each_update() -> None:
    spec = JobSpec.model_validate(FOUR_STEPS | {"clip_grad_norm": 1e-3, "clip_grad_value": 1.0})
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    from core.facts import dataset_facts

    objective = build_objective(spec.loss, dataset_facts(spec.dataset), device=CPU)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    Stepper(model, optimizer, objective, spec, CPU).step(torch.randn(8, 3) * 100, (torch.randn(8, 1) * 100,))
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm().item() == pytest.approx(1e-3, rel=1e-3)  # lr 1 x the clipped norm


def test_clipping_keeps_a_diverging_run_finite() -> None:
    raw = {
        "dataset": {"name": "thermometer", "val_fraction": 0.0},
        "model": "linear",
        "loss": "mse",
        "optimizer": {"name": "sgd", "lr": 1e-3},
        "epochs": 200,
        "batch_size": None,
    }
    with pytest.raises(TrainingFailed, match="diverged"):
        run(raw)
    _, recorder = run(raw | {"clip_grad_norm": 1.0})
    assert all(math.isfinite(v) for v in recorder.series("train_loss"))


def test_bf16_trains_on_the_cpu_and_fp16_says_it_needs_cuda() -> None:
    raw = {"dataset": "digits", "model": "mlp", "loss": "cross_entropy", "optimizer": "adam", "epochs": 3}
    _, recorder = run(raw | {"precision": "bf16"})
    assert recorder.series("val_accuracy")[-1] >= 0.9
    if not torch.cuda.is_available():
        with pytest.raises(TrainingFailed, match="precision 'fp16' needs a CUDA device"):
            run(raw | {"precision": "fp16"})


def test_the_same_seed_gives_the_same_history_with_sampled_triplets() -> None:
    raw = {
        "dataset": {"name": "synthetic_classification", "n_samples": 200},
        "model": {"name": "mlp", "hidden": [16]},
        "loss": "triplet_margin",
        "optimizer": "adam",
        "epochs": 3,
        "seed": 3,
    }
    first, again = run(raw)[1], run(raw)[1]
    assert [(p.name, p.step, p.value) for p in again.points] == [(p.name, p.step, p.value) for p in first.points]
    assert run(raw | {"seed": 4})[1].series("train_loss") != first.series("train_loss")


def test_cancel_is_seen_between_steps_with_per_step_logging() -> None:
    raw = {"dataset": "digits", "model": "linear", "loss": "cross_entropy", "optimizer": "sgd", "epochs": 5}
    outcome, _ = run(raw | {"log_every_steps": 2}, ListRecorder(stop_after_checks=30))
    assert outcome == Outcome("stopped", 1, 30, stopped_by="cancelled")
