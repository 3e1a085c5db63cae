"""One optimizer step: forward under the spec's precision, backward (loss-scaled for fp16), gradient clipping, and
the closure L-BFGS needs to re-evaluate the loss."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn, optim

from core.spec import JobSpec
from worker.losses.objective import Objective, Target

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class PrecisionUnavailable(Exception):
    """The spec's precision cannot run on this device."""


def autocast_for(precision: str, device: torch.device) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A factory of the autocast context for this precision (a no-op context for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext
    if precision == "fp16" and device.type != "cuda":
        raise PrecisionUnavailable(
            "precision 'fp16' needs a CUDA device, and this job runs on the CPU: use 'bf16' or 'fp32'"
        )
    dtype = DTYPES[precision]
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


@dataclass
class Stepper:
    """Runs optimizer steps for one job."""

    model: nn.Module
    optimizer: optim.Optimizer
    objective: Objective
    spec: JobSpec
    device: torch.device
    autocast: Callable[[], contextlib.AbstractContextManager[None]] = field(init=False)
    scaler: torch.amp.GradScaler = field(init=False)
    forward: Callable[[torch.Tensor], torch.Tensor] = field(init=False)

    def __post_init__(self) -> None:
        self.autocast = autocast_for(self.spec.precision, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.spec.precision == "fp16")
        # Only the training steps run compiled: `model` stays the plain module, so checkpoints hold its state dict
        # (no `_orig_mod.` prefix; a job resumes with or without compile) and evaluation costs no second compile.
        self.forward = torch.compile(self.model) if self.spec.compile else self.model

    def _clip(self) -> None:
        if self.spec.clip_grad_norm is None and self.spec.clip_grad_value is None:
            return
        self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the loss-scaled ones
        if self.spec.clip_grad_value is not None:
            nn.utils.clip_grad_value_(self.model.parameters(), self.spec.clip_grad_value)
        if self.spec.clip_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.spec.clip_grad_norm)

    def _forward_backward(self, x: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            output = self.forward(x)
        loss = self.objective.loss(output, target)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self._clip()
        return loss.detach(), output.detach()

    def step(self, x: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step on a batch: its loss and the model's outputs before the step (both detached)."""
        if isinstance(self.optimizer, optim.LBFGS):
            return self._lbfgs_step(x, target)
        loss, output = self._forward_backward(x, target)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss, output

    def _lbfgs_step(self, x: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
        first: list[tuple[torch.Tensor, torch.Tensor]] = []

        def closure() -> torch.Tensor:
            loss, output = self._forward_backward(x, target)
            first.append((loss, output))
            return loss  # LBFGS takes the loss tensor

        self.optimizer.step(closure)  # type: ignore[arg-type]
        return first[0]


def forget_compiled() -> None:
    """Drop what torch.compile cached for a job that has ended, so a warm worker compiles each new model afresh."""
    # Dynamo keeps every compiled graph on the shared code object of the module's forward, guarded by the module's
    # shapes; past its recompile limit (8) a new model would silently run uncompiled. The on-disk inductor cache
    # stays, so a later job with the same shapes still compiles quickly.
    torch._dynamo.reset()
