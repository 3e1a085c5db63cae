"""A warm worker: torch, the training code and (on CUDA) the CUDA context are ready before its first job."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import worker.main
from worker.warm import warm_up

ROOT = Path(__file__).resolve().parents[2]
# What the first job would otherwise import: torch, torchvision's models and files, the engine and what it builds.
TRAINING_MODULES = [
    "torch",
    "torchvision.models",
    "worker.datasets.torchvision_files",
    "worker.engine",
    "worker.losses",
    "worker.models",
    "worker.optim",
    "worker.runner",
    "worker.schedules",
    "worker.steps",
    "worker.export",
    "onnxruntime",
]


def test_loading_the_worker_imports_the_training_code() -> None:
    probe = f"import sys, worker.main; print([m for m in {TRAINING_MODULES!r} if m not in sys.modules])"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_cpu_worker_readies_its_exporter_and_leaves_cuda_alone() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert warm_up() is None and not torch.cuda.is_initialized()
    assert "onnxscript" in sys.modules  # what the dynamo exporter imports on its first export


@pytest.mark.parametrize("state_dir_writable", [True, False])
def test_the_worker_warms_up_before_it_takes_jobs(monkeypatch: pytest.MonkeyPatch, state_dir_writable: bool) -> None:
    calls: list[str] = []

    class App:
        def __init__(self, **_: Any) -> None:
            pass

        def worker_main(self, argv: list[str]) -> None:
            calls.append("worker_main " + " ".join(a for a in argv if a.startswith("--pool")))

    class Reconciler:
        def __init__(self, *_: Any, **__: Any) -> None:
            pass

        def start(self) -> None:
            calls.append("reconciler")

    monkeypatch.setattr(worker.main, "create_worker_app", App)
    monkeypatch.setattr(worker.main, "Reconciler", Reconciler)
    monkeypatch.setattr(worker.main, "warm_up", lambda: calls.append("warm_up"))

    def take_slot(_: Any) -> tuple[None, dict[str, Any]]:
        calls.append("slot")
        if not state_dir_writable:  # a read-only image: the worker runs on without a slot
            raise PermissionError("read-only")
        return None, {}

    monkeypatch.setattr(worker.main, "take_slot", take_slot)
    monkeypatch.setattr(worker.main, "end_previous_life", lambda *_: calls.append("previous life"))
    monkeypatch.setattr(worker.main, "register", lambda *_: calls.append("register"))
    monkeypatch.setattr(worker.main, "dispatch_quietly", lambda **_: calls.append("dispatch"))
    monkeypatch.setattr(worker.main, "leave", lambda *_: calls.append("leave"))
    worker.main.run_worker()
    # The worker registers its slot in its pool, then deals with the slot's last job before anything else; the solo
    # pool runs every job in this process, so what warm_up readied here is what the jobs find; it says when it stops.
    assert calls == [
        "slot",
        "register",
        "previous life",
        "reconciler",
        "dispatch",
        "warm_up",
        "worker_main --pool=solo",
        "leave",
    ]


@pytest.mark.gpu
def test_a_cuda_worker_creates_its_cuda_context_at_start() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    probe = (
        "import torch; from worker.warm import warm_up; before = torch.cuda.is_initialized(); device = warm_up(); "
        "print(before, device.type, torch.cuda.is_initialized())"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "cuda", "True"]
