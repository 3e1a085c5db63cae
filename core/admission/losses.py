"""Whether a loss suits the dataset's task, and whether its per-class parameters match the dataset (no torch)."""

from core.components import (
    COMPONENTS,
    Bce,
    BceWithLogits,
    Component,
    CrossEntropy,
    Focal,
    MultilabelSoftMargin,
    MultiMargin,
    Nll,
    Task,
    component_name,
)
from core.components.naming import either
from core.errors import SpecProblem
from core.facts import DatasetFacts, head_kind
from core.spec import JobSpec

TASK_WORDS: dict[Task, str] = {
    "regression": "a real-valued target",
    "count_regression": "count targets",
    "binary_classification": "two classes",
    "multiclass_classification": "class labels",
    "multilabel_classification": "multi-label targets",
}


def describe_dataset(facts: DatasetFacts, name: str) -> str:
    """The dataset's task in words, for messages."""
    name = facts.label or name
    match facts.task:
        case "regression":
            return f"dataset '{name}' is a regression"
        case "count_regression":
            return f"dataset '{name}' has count targets"
        case "multilabel_classification":
            return f"dataset '{name}' has {facts.n_classes} labels (multi-label)"
    return f"dataset '{name}' has {facts.n_classes} classes"


def _suiting(kind: str, tasks: tuple[Task, ...], limit: int) -> list[str]:
    """Components of this kind that suit one of these tasks, the most specific first."""
    classes: tuple[type[Component], ...] = COMPONENTS[kind]
    fitting = [cls for cls in classes if set(cls.tasks) & set(tasks)]
    fitting.sort(key=lambda cls: not set(cls.tasks) <= set(tasks))
    return [component_name(cls) for cls in fitting[:limit]]


def loss_task_problem(spec: JobSpec, facts: DatasetFacts) -> SpecProblem | None:
    """Why the loss does not suit the dataset's task, with what would, or None when it does."""
    loss = spec.loss
    if facts.task in type(loss).tasks:
        return None
    needs = " or ".join(TASK_WORDS[task] for task in type(loss).tasks)
    losses = either(_suiting("loss", (facts.task,), 4))
    datasets = either(_suiting("dataset", type(loss).tasks, 3))
    return SpecProblem(
        ("loss",),
        f"loss '{loss.name}' needs {needs}, but {describe_dataset(facts, spec.dataset.name)}: "
        f"use {losses}, or a dataset such as {datasets}",
    )


def _length_problem(field: str, values: list[float] | None, want: int, what: str, name: str) -> list[SpecProblem]:
    if values is None or len(values) == want:
        return []
    has = "a binary dataset has 1 output per sample" if what == "outputs" else f"the dataset has {want} {what}"
    return [SpecProblem(("loss", field), f"loss '{name}' {field} has {len(values)} values, but {has}")]


def loss_parameter_problems(spec: JobSpec, facts: DatasetFacts) -> list[SpecProblem]:
    """Per-class and per-label parameters whose length does not match the dataset."""
    loss = spec.loss
    kind = head_kind(loss, facts.task)
    per = {"multilabel": "labels", "binary": "outputs"}.get(kind, "classes")
    outputs = 1 if kind == "binary" else facts.n_classes
    match loss:
        case CrossEntropy() | Nll() | MultiMargin():
            return _length_problem("weight", loss.weight, facts.n_classes, "classes", loss.name)
        case Bce() | MultilabelSoftMargin():
            return _length_problem("weight", loss.weight, outputs, per, loss.name)
        case BceWithLogits():
            pos = loss.pos_weight if isinstance(loss.pos_weight, list) else None
            problems = _length_problem("weight", loss.weight, outputs, per, loss.name)
            return problems + _length_problem("pos_weight", pos, outputs, per, loss.name)
        case Focal():
            return _focal_alpha_problems(loss, kind, facts)
    return []


def _focal_alpha_problems(loss: Focal, kind: str, facts: DatasetFacts) -> list[SpecProblem]:
    if kind == "classes" and isinstance(loss.alpha, float):
        msg = "loss 'focal' on a multi-class dataset takes alpha as one weight per class (a list), not one number"
        return [SpecProblem(("loss", "alpha"), msg)]
    if kind != "classes" and isinstance(loss.alpha, list):
        msg = "loss 'focal' on a binary or multi-label dataset takes alpha as one number in [0, 1], not a list"
        return [SpecProblem(("loss", "alpha"), msg)]
    alpha = loss.alpha if isinstance(loss.alpha, list) else None
    return _length_problem("alpha", alpha, facts.n_classes, "classes", loss.name)
