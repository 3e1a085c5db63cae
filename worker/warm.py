"""What a worker does once, when it starts, so that a job's start-up cost is its own model and data.

The training code and torch are imported by `worker.main` itself (its imports reach the task, the runner and the
engine), and the solo pool runs every job in this one process, so they stay imported between jobs. On a CUDA worker
the CUDA context, cuBLAS and cuDNN are made ready here, before the first job, instead of inside it.
"""

import logging
import time

import torch
from torch.nn import functional

from worker.onnx_export import warm_exporter

log = logging.getLogger(__name__)


def _warm_exporter() -> None:
    # Before the first job, not beside it: the exporter's tracing shares torch's process-wide FX state with eager
    # code (a warm-up in a thread broke a training step's optimizer.zero_grad with a KeyError in fx traceback).
    try:
        log.info("model exporter ready in %.2fs", warm_exporter())
    except Exception:  # a worker that cannot export still trains; each job's model then says why it has no ONNX file
        log.exception("the model exporter could not be warmed up")


def warm_up() -> torch.device | None:
    """Ready the model exporter; on CUDA, create the context and load cuBLAS and cuDNN with tiny operations. The
    device, or None without CUDA."""
    _warm_exporter()
    if not torch.cuda.is_available():
        return None  # a CPU worker has nothing more to prepare
    started = time.monotonic()
    device = torch.device("cuda", torch.cuda.current_device())
    x = torch.ones(1, 1, 8, 8, device=device)
    (x[0, 0] @ x[0, 0]).sum()  # cuBLAS's handle
    functional.conv2d(x, torch.ones(1, 1, 3, 3, device=device))  # cuDNN
    torch.cuda.synchronize(device)
    del x
    torch.cuda.empty_cache()
    log.info("CUDA ready on %s in %.2fs", torch.cuda.get_device_name(device), time.monotonic() - started)
    return device
