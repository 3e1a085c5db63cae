"""environment.json: what a model was trained with (versions, device, seed, determinism settings), written by the
worker beside the model files because only it knows (the API has no torch)."""

import importlib.metadata
import platform
from typing import Any

import onnxruntime
import safetensors
import torch

from core.spec import JobSpec


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def environment(spec: JobSpec, device: torch.device) -> dict[str, Any]:
    """Versions, the device the job trained on, its seed and the settings that decide whether a rerun is exact."""
    cudnn = torch.backends.cudnn
    return {
        "gradyard": _version("gradyard"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn.version() if cudnn.is_available() else None,  # type: ignore[no-untyped-call]
        "onnxruntime": onnxruntime.__version__,
        "safetensors": safetensors.__version__,
        "platform": platform.platform(),
        "device": device.type,
        "device_name": _device_name(device),
        "torch_threads": torch.get_num_threads(),
        "seed": spec.seed,
        "precision": spec.precision,
        "deterministic": {
            "use_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "cudnn_deterministic": bool(cudnn.deterministic),
            "cudnn_benchmark": bool(cudnn.benchmark),
        },
    }
