"""Checkpoints: a resumed run gives the same history as an uninterrupted one; writes are atomic; loads are safe."""

import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

from core.spec import EarlyStopping, JobSpec
from tests.worker.recording import CPU, ListRecorder
from worker.checkpoint import load_checkpoint, write_atomically
from worker.engine import train

SPEC = JobSpec.model_validate(
    {
        "dataset": {"name": "synthetic_classification", "n_samples": 600},
        "model": {"name": "mlp", "hidden": [32], "dropout": 0.2},
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": 0.01},
        "scheduler": {"name": "step", "step_size": 2, "gamma": 0.5},
        "epochs": 6,
        "batch_size": 50,
        "seed": 3,
    }
)


class DiskCheckpointer:
    """Saves every state through a real file, as the worker does, and keeps the path of the newest."""

    def __init__(self, directory: Path, *, every_epoch: bool) -> None:
        self.directory = directory
        self.every_epoch = every_epoch
        self.saved: list[Path] = []

    def due(self) -> bool:
        return self.every_epoch

    def save(self, state: dict[str, Any]) -> None:
        path = self.directory / f"checkpoint-{state['step']}.pt"
        write_atomically(state, path)
        self.saved.append(path)


def history(recorder: ListRecorder) -> dict[tuple[str, int], float]:
    return {(p.name, p.step): p.value for p in recorder.points}


def test_a_run_stopped_mid_epoch_resumes_exactly(tmp_path: Path) -> None:
    whole = ListRecorder()
    train(SPEC, whole, device=CPU)
    first, checkpoints = ListRecorder(stop_after_checks=29), DiskCheckpointer(tmp_path, every_epoch=False)
    assert train(SPEC, first, device=CPU, checkpointer=checkpoints).status == "stopped"
    [path] = checkpoints.saved
    state = load_checkpoint(path, device=CPU)
    assert (state["step"], state["epoch"], state["next_batch"]) == (29, 2, 450)
    rest = ListRecorder()
    assert train(SPEC, rest, device=CPU, resume=state).status == "succeeded"
    assert history(first) | history(rest) == history(whole)
    assert min(p.step for p in rest.points) > 29


def test_a_run_resumed_from_an_epoch_checkpoint_matches(tmp_path: Path) -> None:
    whole = ListRecorder()
    train(SPEC, whole, device=CPU)
    checkpoints = DiskCheckpointer(tmp_path, every_epoch=True)
    train(SPEC, ListRecorder(), device=CPU, checkpointer=checkpoints)
    after_epoch_3 = load_checkpoint(checkpoints.saved[2], device=CPU)
    assert (after_epoch_3["epoch"], after_epoch_3["next_batch"]) == (3, None)
    rest = ListRecorder()
    train(SPEC, rest, device=CPU, resume=after_epoch_3)
    assert history(rest) == {key: value for key, value in history(whole).items() if key[1] > after_epoch_3["step"]}


def test_an_interrupted_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    write_atomically({"step": 1, "weights": torch.ones(3)}, path)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        write_atomically({"step": 2, "weights": torch.zeros(3), "bad": lambda: None}, path)
    # What a kill in the middle of torch.save leaves behind: a partial temporary file beside the real one.
    (tmp_path / ".checkpoint.pt.tmp").write_bytes(b"PK\x03\x04 truncated")
    state = load_checkpoint(path, device=CPU)
    assert state["step"] == 1 and torch.equal(state["weights"], torch.ones(3))


class NotAllowed:
    """A class a checkpoint must not be able to make the loader construct."""


def test_checkpoints_load_tensors_only(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"step": 1, "payload": NotAllowed()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path, device=CPU)


@pytest.mark.parametrize(
    "scheduler",
    [
        {"name": "one_cycle", "max_lr": 0.05},
        {"name": "linear_warmup", "warmup_steps": 10, "then": {"name": "cosine"}},
        {"name": "cosine_warm_restarts", "T_0": 2},
        {"name": "reduce_on_plateau", "metric": "val_centroid_accuracy", "patience": 0},
    ],
)
def test_every_schedule_sampled_pairs_and_per_step_points_resume_exactly(
    tmp_path: Path, scheduler: dict[str, Any]
) -> None:
    spec = JobSpec.model_validate(
        {
            "dataset": {"name": "synthetic_classification", "n_samples": 300},
            "model": {"name": "mlp", "hidden": [16]},
            "loss": "triplet_margin",  # draws triplets from the RNG every batch
            "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
            "scheduler": scheduler,
            "early_stopping": {"metric": "val_loss", "patience": 3},
            "log_every_steps": 3,
            "epochs": 6,
            "batch_size": 32,
        }
    )
    whole = ListRecorder()
    train(spec, whole, device=CPU)
    first, checkpoints = ListRecorder(stop_after_checks=20), DiskCheckpointer(tmp_path, every_epoch=False)
    assert train(spec, first, device=CPU, checkpointer=checkpoints).status == "stopped"
    state = load_checkpoint(checkpoints.saved[-1], device=CPU)  # weights_only: every state must load safely
    rest = ListRecorder()
    assert train(spec, rest, device=CPU, resume=state).status == "succeeded"
    assert history(first) | history(rest) == history(whole)


def test_best_weights_survive_a_resume(tmp_path: Path) -> None:
    # val_accuracy gains more than 0.01 after epochs 1 and 2 only: the best weights are epoch 2's, taken before the
    # interruption, so the resumed run has them from its checkpoint alone.
    stopping = EarlyStopping(metric="val_accuracy", patience=6, min_delta=0.01)
    spec = SPEC.model_copy(update={"early_stopping": stopping})
    whole = train(spec, ListRecorder(), device=CPU)
    first, checkpoints = ListRecorder(stop_after_checks=41), DiskCheckpointer(tmp_path, every_epoch=False)
    assert train(spec, first, device=CPU, checkpointer=checkpoints).status == "stopped"
    state = load_checkpoint(checkpoints.saved[-1], device=CPU)
    assert state["best_weights"] is not None and state["epoch"] == 4  # stopped in epoch 5
    resumed = train(spec, ListRecorder(), device=CPU, resume=state)
    assert whole.trained is not None and whole.trained.best is not None
    assert resumed.trained is not None and resumed.trained.best is not None
    best, again = whole.trained.best, resumed.trained.best
    assert best.epoch == 2
    assert (again.epoch, again.value, again.metric) == (best.epoch, best.value, best.metric)
    assert again.weights.keys() == best.weights.keys()
    assert all(torch.equal(again.weights[name], value) for name, value in best.weights.items())
