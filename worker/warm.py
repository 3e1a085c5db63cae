"""What a worker does once, when it starts, so that a job's start-up cost is its own model and data.

The training code and torch are imported by `worker.main` itself (its imports reach the task, the runner and the
engine), and the solo pool runs every job in this one process, so they stay imported between jobs. On a CUDA worker
the CUDA context, cuBLAS and cuDNN are made ready here, before the first job, instead of inside it.
"""

import logging
import time

import torch
from torch.nn import functional

from worker.onnx_export import warm_in_background

log = logging.getLogger(__name__)


def warm_up() -> torch.device | None:
    """Start readying the model exporter (in the background); on CUDA, create the context and load cuBLAS and cuDNN
    with tiny operations. The device, or None without CUDA."""
    warm_in_background()
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
