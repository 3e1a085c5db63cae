"""Server-side limits a spec must respect, set by the operator in the settings (not by the spec's own bounds)."""

import math

from core.errors import SpecProblem
from core.facts import dataset_facts, recorded_metrics
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
    points = metric_points(spec)
    if points > settings.max_points_per_job:
        problems.append(_over(("epochs",), "the metric points it would record", points, settings.max_points_per_job))
    return problems


def runtime_limit(spec: JobSpec, settings: Settings) -> float:
    """Seconds this job may run in all: its own limit, else the server's maximum."""
    return float(spec.max_runtime_seconds or settings.max_job_seconds)
