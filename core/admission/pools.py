"""Admission by pool and priority: a job asking for CUDA in a pool of CPU-only workers can never run, and priority
high may be kept for admins (GRADYARD_HIGH_PRIORITY)."""

from core.errors import SpecProblem
from core.settings import Settings
from core.spec import JobSpec


def in_default_pool(spec: JobSpec, settings: Settings) -> JobSpec:
    """The spec in the deployment's default pool (GRADYARD_DEFAULT_POOL) when it names none itself."""
    if "pool" in spec.model_fields_set or spec.pool == settings.default_pool:
        return spec
    return spec.model_copy(update={"pool": settings.default_pool})


def pool_problems(spec: JobSpec, *, devices: list[str], is_admin: bool, settings: Settings) -> list[SpecProblem]:
    """Why the spec cannot queue in its pool, given the devices of the workers that joined it ([]: none yet, so
    nothing is known against it)."""
    problems = []
    if spec.device == "cuda" and devices and all(device == "cpu" for device in devices):
        problems.append(
            SpecProblem(
                ("device",),
                f"device 'cuda' cannot run in pool '{spec.pool}': its {len(devices)} registered worker(s) have no "
                "GPU; use device 'auto' or 'cpu', or a pool with GPU workers",
                "pool_has_no_gpu",
            )
        )
    if spec.priority == "high" and settings.high_priority == "admins" and not is_admin:
        problems.append(priority_problem())
    return problems


def priority_problem() -> SpecProblem:
    """Priority high asked for by a key that is not an admin's."""
    return SpecProblem(
        ("priority",),
        "priority 'high' is for admin keys on this server (GRADYARD_HIGH_PRIORITY=admins): use 'normal' or 'low'",
        "priority_forbidden",
    )
