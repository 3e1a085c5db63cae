"""The memory estimate admission uses, checked against what torch and numpy really hold: the activations a forward
pass saves for the backward pass, the optimizer's state after a step, and the peak of loading a dataset."""

import json
import subprocess
import sys
from typing import Any

import pytest
import torch

from core.facts import dataset_facts, head_size
from core.job_memory import FLOAT32, activation_values, estimate_memory
from core.spec import JobSpec
from worker.models import build_model
from worker.optim import build_optimizer

IMAGES = {"name": "synthetic_images", "n_samples": 64}
SMALL_IMAGES = {"name": "synthetic_images", "n_samples": 64, "channels": 1, "image_size": 28}


def _spec(dataset: Any, model: Any, optimizer: Any = "sgd") -> JobSpec:
    return JobSpec.model_validate({"dataset": dataset, "model": model, "loss": "cross_entropy", "optimizer": optimizer})


@pytest.mark.parametrize(
    ("dataset", "model"),
    [
        ("digits", "linear"),
        ("digits", {"name": "mlp", "hidden": [64, 32], "dropout": 0.2}),
        (IMAGES, "cifar_cnn"),
        (IMAGES, "lenet"),
        (SMALL_IMAGES, "lenet"),
        (IMAGES, "resnet18"),
        (IMAGES, {"name": "resnet18", "small_inputs": False}),
        ({"name": "synthetic_tokens", "n_samples": 64}, "embedding_bag"),
    ],
)
def test_the_activation_count_bounds_what_the_forward_pass_saves(dataset: Any, model: Any) -> None:
    spec = _spec(dataset, model)
    facts = dataset_facts(spec.dataset)
    built = build_model(spec.model, facts=facts, n_out=head_size(spec)).train()
    batch = 8
    dtype = torch.long if facts.inputs == "tokens" else torch.float32
    inputs = torch.zeros((batch, *facts.input_shape), dtype=dtype)
    saved: dict[int, int] = {}
    weights = {p.untyped_storage().data_ptr() for p in built.parameters()}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        # Weights (and their transposed views) are saved too, but the parameters part counts them; each storage once.
        if tensor.untyped_storage().data_ptr() not in weights:
            saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = built(inputs)
    kept = sum(saved.values()) + output.numel() * output.element_size()
    estimated = batch * activation_values(spec, facts) * FLOAT32
    assert kept <= estimated, f"{spec.model.name}: {kept:,} bytes saved, {estimated:,} estimated"
    assert estimated <= 3 * kept, f"{spec.model.name}: the estimate {estimated:,} is over 3x the {kept:,} saved"


@pytest.mark.parametrize(
    "optimizer",
    [
        "sgd",
        {"name": "sgd", "momentum": 0.9},
        "adam",
        {"name": "adam", "amsgrad": True},
        "adagrad",
        "rmsprop",
        {"name": "rmsprop", "momentum": 0.9, "centered": True},
        "adadelta",
        "nadam",
        "radam",
        "adamax",
        "asgd",
        "rprop",
    ],
)
def test_the_optimizer_state_copies_match_torch_after_a_step(optimizer: Any) -> None:
    spec = _spec("iris", {"name": "mlp", "hidden": [16]}, optimizer)
    model = build_model(spec.model, facts=dataset_facts(spec.dataset), n_out=head_size(spec))
    built = build_optimizer(spec.optimizer, model.parameters())
    model(torch.randn(4, 4)).sum().backward()
    built.step()
    n_parameters = sum(p.numel() for p in model.parameters())
    state = sum(v.numel() for s in built.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0)
    assert state == spec.optimizer.state_copies() * n_parameters


def _peak_bytes_of_loading(spec: JobSpec) -> int:
    """How much a fresh process's peak resident memory grows while it loads the dataset."""
    # The peak of this process's own memory (VmHWM), not ru_maxrss, which a child inherits from the process that
    # forked it (the test runner, often larger than the load measured here).
    script = (
        "import json, sys\n"
        "import torch\n"
        "from core.spec import JobSpec\n"
        "from worker.data import load_data\n"
        "def peak():\n"
        "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "    return int(line.split()[1]) * 1024\n"
        "spec = JobSpec.model_validate_json(sys.argv[1])\n"
        "before = peak()\n"
        "load_data(spec.dataset, seed=0, device=torch.device('cpu'))\n"
        "print(json.dumps(peak() - before))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, spec.model_dump_json()], capture_output=True, text=True, check=True
    )
    return int(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("dataset", "model", "loss"),
    [
        ({"name": "synthetic_regression", "n_samples": 100_000, "n_features": 400}, "linear", "mse"),
        ({"name": "synthetic_classification", "n_samples": 100_000, "n_features": 400}, "linear", "cross_entropy"),
        ({"name": "synthetic_tokens", "n_samples": 100_000, "seq_len": 200}, "embedding_bag", "cross_entropy"),
    ],
)
def test_the_data_estimate_bounds_the_peak_of_a_real_load(dataset: Any, model: Any, loss: Any) -> None:
    spec = JobSpec.model_validate({"dataset": dataset, "model": model, "loss": loss, "optimizer": "sgd"})
    peak, estimated = _peak_bytes_of_loading(spec), estimate_memory(spec).data
    assert peak <= estimated, (
        f"{dataset['name']}: loading peaked {peak:,} bytes above its start, {estimated:,} estimated"
    )
    assert estimated <= 2 * peak, f"{dataset['name']}: the estimate {estimated:,} is over 2x the real {peak:,}"
