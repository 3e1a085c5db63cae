"""channels_last and torch.compile change how the model runs, never what it learns: the same history (to float
tolerance), checkpoints a job can resume from with or without compile, and a warm worker that compiles every model."""

import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch._dynamo.eval_frame import OptimizedModule

from core.spec import JobSpec
from tests.worker.recording import CPU, ListRecorder, run
from tests.worker.test_resume import DiskCheckpointer, history
from worker.checkpoint import load_checkpoint
from worker.engine import Loop, resolve_device, train

CL = torch.channels_last
# 3-channel images, so channels-last differs from the default layout (with one channel the two coincide);
# 96 training samples in batches of 40: two full batches and a partial one.
CIFAR_CNN = {
    "dataset": {"name": "synthetic_images", "n_samples": 120, "n_classes": 3},
    "model": "cifar_cnn",
    "loss": "cross_entropy",
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "epochs": 3,
    "batch_size": 40,
    "seed": 1,
}
LENET = CIFAR_CNN | {
    "dataset": {"name": "synthetic_images", "n_samples": 120, "n_classes": 3, "channels": 1, "image_size": 28},
    "model": "lenet",
}
# Full batches only (200 training samples in batches of 50), so one compiled graph serves the whole job.
MLP = {
    "dataset": {"name": "synthetic_classification", "n_samples": 250},
    "model": {"name": "mlp", "hidden": [16]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 0.01},
    "scheduler": {"name": "step", "step_size": 1, "gamma": 0.5},
    "epochs": 4,
    "batch_size": 50,
    "seed": 3,
}


def assert_same_history(got: dict[tuple[str, int], float], expected: dict[tuple[str, int], float], rel: float) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=rel, abs=1e-6), key


@pytest.mark.parametrize("raw", [CIFAR_CNN, LENET], ids=["cifar_cnn", "lenet"])
def test_channels_last_gives_the_same_history(raw: dict[str, Any]) -> None:
    plain, reordered = run(raw)[1], run(raw | {"channels_last": True})[1]
    assert len(plain.series("val_accuracy")) == 3
    assert_same_history(history(reordered), history(plain), rel=1e-5)


def test_channels_last_converts_the_model_and_the_dataset_once() -> None:
    loop = Loop(JobSpec.model_validate(CIFAR_CNN | {"channels_last": True}), ListRecorder(), CPU, time.monotonic)
    assert loop.data.val is not None
    for x in (loop.data.train.x, loop.data.val.x):
        assert x.is_contiguous(memory_format=CL) and not x.is_contiguous()
    first_conv = loop.stepper.model[0]
    assert isinstance(first_conv, torch.nn.Conv2d) and first_conv.weight.is_contiguous(memory_format=CL)
    # Shuffled index slices of the converted dataset keep its layout: no step converts again.
    batches = [xb for xb, _, _, _ in loop.batches()]
    assert [len(xb) for xb in batches] == [40, 40, 16]
    assert all(xb.is_contiguous(memory_format=CL) and not xb.is_contiguous() for xb in batches)


def test_compile_wraps_only_the_training_forward() -> None:
    stepper = Loop(JobSpec.model_validate(MLP | {"compile": True}), ListRecorder(), CPU, time.monotonic).stepper
    assert isinstance(stepper.forward, OptimizedModule) and stepper.forward._orig_mod is stepper.model
    assert not isinstance(stepper.model, OptimizedModule)  # what checkpoints and evaluation use
    plain = Loop(JobSpec.model_validate(MLP), ListRecorder(), CPU, time.monotonic).stepper
    assert plain.forward is plain.model


@pytest.mark.slow
def test_a_compiled_job_gives_the_same_history() -> None:
    plain, compiled = run(MLP)[1], run(MLP | {"compile": True})[1]
    assert len(compiled.series("val_loss")) == 4
    assert_same_history(history(compiled), history(plain), rel=1e-4)


@pytest.mark.slow
def test_a_compiled_job_checkpoints_the_plain_module_and_resumes_with_or_without_compile(tmp_path: Path) -> None:
    compiled = JobSpec.model_validate(MLP | {"compile": True})
    whole = history(run(MLP)[1])
    first, checkpoints = ListRecorder(stop_after_checks=10), DiskCheckpointer(tmp_path, every_epoch=False)
    assert train(compiled, first, device=CPU, checkpointer=checkpoints).status == "stopped"
    [path] = checkpoints.saved
    state = load_checkpoint(path, device=CPU)
    assert (state["step"], state["epoch"]) == (10, 2)
    assert list(state["model"]) == ["1.weight", "1.bias", "3.weight", "3.bias"]  # no `_orig_mod.` prefix
    for spec in (compiled, JobSpec.model_validate(MLP)):
        rest = ListRecorder()  # each resume loads the file afresh, as a worker does
        assert train(spec, rest, device=CPU, resume=load_checkpoint(path, device=CPU)).status == "succeeded"
        assert_same_history(history(first) | history(rest), whole, rel=1e-4)


@pytest.mark.slow
def test_a_warm_worker_compiles_each_new_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a limit of one graph per code object, a second model's graph would be refused unless the first job's
    # were dropped when it ended (the real limit, 8, would let a long-lived worker run its 9th model uncompiled).
    monkeypatch.setattr(torch._dynamo.config, "recompile_limit", 1)
    monkeypatch.setattr(torch._dynamo.config, "fail_on_recompile_limit_hit", True)
    for hidden in ([16], [12]):
        outcome, recorder = run(MLP | {"compile": True, "epochs": 1, "model": {"name": "mlp", "hidden": hidden}})
        assert outcome.status == "succeeded" and len(recorder.series("val_loss")) == 1


@pytest.mark.gpu
def test_bf16_compile_and_channels_last_train_on_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    raw = CIFAR_CNN | {"device": "cuda", "precision": "bf16", "epochs": 5}
    device = resolve_device("cuda")
    eager = ListRecorder()
    train(JobSpec.model_validate(raw), eager, device=device)
    fast = ListRecorder()
    outcome = train(JobSpec.model_validate(raw | {"compile": True, "channels_last": True}), fast, device=device)
    assert outcome.status == "succeeded"
    losses = fast.series("train_loss")
    assert losses[-1] < losses[0]
    assert losses[0] == pytest.approx(eager.series("train_loss")[0], rel=5e-2)  # bf16 rounds differently per kernel
