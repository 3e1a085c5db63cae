"""The two loops the service is measured against, on the worker's own data and model builders (same maths).

`hand_written` is what a careful person writes: data on the device, shuffled index slices, loss and accuracy kept on
the device, evaluation on the validation split every epoch, one host sync per epoch. `naive` is the common first
attempt: a DataLoader over a TensorDataset, `.item()` every step, a batched evaluation that syncs every batch.
"""

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from core.components import Adam, CrossEntropy, Sgd
from core.facts import head_size
from core.spec import JobSpec
from worker.data import TensorData, load_data
from worker.evaluation import outputs
from worker.models import build_model

Autocast = Callable[[], contextlib.AbstractContextManager[None]]


@dataclass(frozen=True)
class LoopResult:
    """A loop's wall time (data and model built, every epoch trained and evaluated) and its last epoch's numbers."""

    seconds: float
    val_loss: float
    val_accuracy: float
    train_samples: int


def plain_optimizer(spec: JobSpec, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """The spec's optimizer written the plain way (the two the benchmark's jobs use)."""
    match spec.optimizer:
        case Adam() as o:
            return torch.optim.Adam(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)
        case Sgd() as o:
            return torch.optim.SGD(
                params, lr=o.lr, momentum=o.momentum, dampening=o.dampening, weight_decay=o.weight_decay
            )
    raise ValueError(f"the benchmark's loops know adam and sgd, not {spec.optimizer.name}")


def _setup(spec: JobSpec, device: torch.device, *, compile_model: bool) -> tuple[TensorData, nn.Module]:
    """Seed, data and model exactly as the engine does it, so the first step starts from the same weights."""
    if not isinstance(spec.loss, CrossEntropy):
        raise ValueError("the benchmark's loops train cross_entropy jobs")
    torch.manual_seed(spec.seed)
    data = load_data(spec.dataset, seed=spec.seed, device=device)
    model = build_model(spec.model, facts=data.facts, n_out=head_size(spec)).to(device)
    if compile_model:
        model = torch.compile(model)  # type: ignore[assignment]
    return data, model


def _autocast(spec: JobSpec, device: torch.device) -> Autocast:
    if spec.precision == "bf16":
        return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def hand_written(spec: JobSpec, *, device: torch.device, compile_model: bool = False) -> LoopResult:
    """Train the spec the careful way; the wall time includes building the data and the model."""
    _sync(device)
    start = time.perf_counter()
    data, model = _setup(spec, device, compile_model=compile_model)
    assert data.val is not None
    optimizer, autocast = plain_optimizer(spec, model.parameters()), _autocast(spec, device)
    x, y, n = data.train.x, data.train.y, len(data.train)
    size = min(spec.batch_size or n, n)
    shuffle = torch.Generator(device=device).manual_seed(spec.seed)
    smoothing = spec.loss.label_smoothing if isinstance(spec.loss, CrossEntropy) else 0.0
    last: list[float] = []
    for _ in range(spec.epochs):
        model.train()
        order = torch.randperm(n, generator=shuffle, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for first in range(0, n, size):
            index = order[first : first + size]
            xb, yb = x[index], y[index]
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                out = model(xb)
            loss = F.cross_entropy(out.float(), yb, label_smoothing=smoothing)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            correct += (out.detach().argmax(1) == yb).sum()
        model.eval()
        val_out = outputs(model, data.val.x, autocast)  # in cache-sized chunks on the CPU, as the engine does
        val_loss = F.cross_entropy(val_out, data.val.y, label_smoothing=smoothing)
        val_accuracy = (val_out.argmax(1) == data.val.y).float().mean()
        last = torch.stack([loss_sum / n, correct / n, val_loss, val_accuracy]).tolist()  # the epoch's one sync
    seconds = time.perf_counter() - start
    return LoopResult(seconds, val_loss=last[2], val_accuracy=last[3], train_samples=n)


def naive(spec: JobSpec, *, device: torch.device) -> LoopResult:
    """Train the spec the naive way: DataLoader(shuffle=True, batch_size=64), `.item()` every step."""
    _sync(device)
    start = time.perf_counter()
    data, model = _setup(spec, torch.device("cpu"), compile_model=False)  # a DataLoader batches host tensors
    assert data.val is not None
    model = model.to(device)
    optimizer = plain_optimizer(spec, model.parameters())
    train = DataLoader(TensorDataset(data.train.x, data.train.y), batch_size=64, shuffle=True)
    val = DataLoader(TensorDataset(data.val.x, data.val.y), batch_size=64)
    criterion = nn.CrossEntropyLoss()
    val_loss = val_accuracy = 0.0
    for _ in range(spec.epochs):
        model.train()
        running = 0.0
        for xb, yb in train:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
        model.eval()
        total, correct = 0.0, 0
        with torch.no_grad():
            for xb, yb in val:
                xb, yb = xb.to(device), yb.to(device)
                out = model(xb)
                total += criterion(out, yb).item() * len(yb)
                correct += int((out.argmax(1) == yb).sum().item())
        val_loss, val_accuracy = total / len(data.val), correct / len(data.val)
    seconds = time.perf_counter() - start
    return LoopResult(seconds, val_loss=val_loss, val_accuracy=val_accuracy, train_samples=len(data.train))
