"""A worker's heartbeat carries its GPU's reading from NVML (utilisation, memory in use) on a CUDA worker, and
nothing on a CPU worker, where the metrics then have no GPU sample for it."""

import pytest
import torch

from worker.presence import gpu_reading


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU worker's case")
def test_a_cpu_worker_has_no_gpu_reading() -> None:
    assert gpu_reading() is None


@pytest.mark.gpu
def test_a_cuda_worker_reads_its_device_through_nvml() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    x = torch.ones(1024, 1024, 64, device="cuda")  # 256 MiB held while the reading is taken
    reading = gpu_reading()
    assert reading is not None
    assert 0.0 <= reading.utilization <= 1.0
    total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    assert x.numel() * 4 <= reading.memory_used_bytes <= total
