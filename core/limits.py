"""Server-side limits a spec must respect, set by the operator in the settings (not by the spec's own bounds)."""

from core.errors import SpecProblem
from core.settings import Settings
from core.spec import JobSpec


def limit_problems(spec: JobSpec, settings: Settings) -> list[SpecProblem]:
    """Every way this spec exceeds the server's limits."""
    problems: list[SpecProblem] = []
    if spec.max_runtime_seconds is not None and spec.max_runtime_seconds > settings.max_job_seconds:
        problems.append(
            SpecProblem(
                ("max_runtime_seconds",),
                f"max_runtime_seconds is {spec.max_runtime_seconds}, above this server's maximum of "
                f"{settings.max_job_seconds}: ask for at most {settings.max_job_seconds}",
                "limit_exceeded",
            )
        )
    return problems


def runtime_limit(spec: JobSpec, settings: Settings) -> float:
    """Seconds this job may run in all: its own limit, else the server's maximum."""
    return float(spec.max_runtime_seconds or settings.max_job_seconds)
