"""Server-side limits a spec must respect, set by the operator in the settings (not by the spec's own bounds)."""

import itertools
import math

from core.components import CifarCnn, Linear, Mlp
from core.errors import SpecProblem
from core.fit import dataset_facts, head_size
from core.settings import Settings
from core.spec import JobSpec

POINTS_PER_EPOCH = 6  # the most metrics one epoch records (train and validation loss, two task metrics, lr...)


def parameter_count(spec: JobSpec) -> int:
    """How many trainable parameters the spec's model has, computed from the spec alone."""
    n_in, n_out = math.prod(dataset_facts(spec.dataset).input_shape), head_size(spec)
    match spec.model:
        case Linear():
            return n_in * n_out + (n_out if spec.model.bias else 0)
        case Mlp():
            widths = [n_in, *spec.model.hidden, n_out]
            return sum(a * b + b for a, b in itertools.pairwise(widths))
        case CifarCnn():
            return (3 * 64 * 25 + 64) + (64 * 30 * 25 + 30) + (750 * 128 + 128) + (128 * n_out + n_out)


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
    points = spec.epochs * POINTS_PER_EPOCH
    if points > settings.max_points_per_job:
        problems.append(_over(("epochs",), "the metric points it would record", points, settings.max_points_per_job))
    return problems


def runtime_limit(spec: JobSpec, settings: Settings) -> float:
    """Seconds this job may run in all: its own limit, else the server's maximum."""
    return float(spec.max_runtime_seconds or settings.max_job_seconds)
