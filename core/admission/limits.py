"""Server-side limits a spec must respect, set by the operator in the settings (not by the spec's own bounds)."""

import math

from core.errors import SpecProblem
from core.facts import dataset_facts, recorded_metrics
from core.job_memory import GIB, MemoryEstimate, estimate_memory, gib
from core.model_size import parameter_count
from core.settings import Settings
from core.spec import JobSpec


def metric_points(spec: JobSpec) -> int:
    """How many metric points the job records at most: every metric each epoch, and the per-step points."""
    facts = dataset_facts(spec.dataset)
    points = spec.epochs * len(recorded_metrics(spec))
    if spec.log_every_steps is not None:
        n_train = max(facts.n_train, 1)
        steps = spec.epochs * math.ceil(n_train / min(spec.batch_size or n_train, n_train))
        points += 2 * (steps // spec.log_every_steps)  # train_loss and lr
    return points


def _over(field: tuple[str, ...], what: str, value: int, limit: int) -> SpecProblem:
    return SpecProblem(field, f"{what} is {value:,}, above this server's limit of {limit:,}", "limit_exceeded")


def limit_problems(spec: JobSpec, settings: Settings) -> list[SpecProblem]:
    """Every way this spec exceeds the server's limits."""
    problems: list[SpecProblem] = []
    if spec.max_runtime_seconds is not None and spec.max_runtime_seconds > settings.max_job_seconds:
        problems.append(
            _over(("max_runtime_seconds",), "max_runtime_seconds", spec.max_runtime_seconds, settings.max_job_seconds)
        )
    if spec.epochs > settings.max_epochs:
        problems.append(_over(("epochs",), "epochs", spec.epochs, settings.max_epochs))
    if spec.batch_size is not None and spec.batch_size > settings.max_batch_size:
        problems.append(_over(("batch_size",), "batch_size", spec.batch_size, settings.max_batch_size))
    samples = dataset_facts(spec.dataset).n_samples
    if samples > settings.max_samples:
        problems.append(_over(("dataset", "n_samples"), "the dataset's size", samples, settings.max_samples))
    parameters = parameter_count(spec)
    if parameters > settings.max_model_parameters:
        problems.append(_over(("model",), "the model's parameter count", parameters, settings.max_model_parameters))
    if (memory := memory_problem(spec, settings)) is not None:
        problems.append(memory)
    points = metric_points(spec)
    if points > settings.max_points_per_job:
        problems.append(_over(("epochs",), "the metric points it would record", points, settings.max_points_per_job))
    return problems


def memory_problem(spec: JobSpec, settings: Settings) -> SpecProblem | None:
    """A problem naming the largest part when the job needs more memory than the server allows per job."""
    estimate = estimate_memory(spec)
    limit = settings.max_job_memory_gb * GIB
    if estimate.total <= limit:
        return None
    field, advice = _largest_part(estimate)
    return SpecProblem(
        field,
        f"this job needs about {gib(estimate.total)} of memory, {gib(estimate.total - limit)} above this server's "
        f"limit of {gib(limit)} per job: its data takes {gib(estimate.data)} while loaded, its parameters with "
        f"their gradients and the optimizer's state {gib(estimate.parameters)}, the activations of one batch of "
        f"{estimate.batch:,} samples {gib(estimate.activations)}; {advice}",
        "limit_exceeded",
    )


def _largest_part(estimate: MemoryEstimate) -> tuple[tuple[str, ...], str]:
    """The spec field to change for the largest part of the estimate, and what to do."""
    parts = {
        "data": (("dataset",), "the data is the largest part: use fewer samples or features"),
        "parameters": (
            ("model",),
            "the model is the largest part: use a smaller model or an optimizer with less state",
        ),
        "activations": (("batch_size",), "one batch's activations are the largest part: use a smaller batch_size"),
    }
    largest = max(parts, key=lambda part: int(getattr(estimate, part)))
    return parts[largest]


def runtime_limit(spec: JobSpec, settings: Settings) -> float:
    """Seconds this job may run in all: its own limit, else the server's maximum."""
    return float(spec.max_runtime_seconds or settings.max_job_seconds)
