"""The task a target column implies (or an override allows), and its class names in a stable order."""

from core.components.base import Task
from core.datasets.errors import DatasetRejected
from core.datasets.schema import MAX_CATEGORIES, MAX_CLASS_VALUES, Column


def _class_names(column: Column) -> list[str] | None:
    if column.dtype in ("category", "boolean"):
        return list(column.categories or [])
    if column.class_values is not None:
        return [format(v, "g") for v in column.class_values]
    return None


def _classification(column: Column, names: list[str], where: str) -> tuple[Task, list[str]]:
    if len(names) < 2:
        only = f" ('{names[0]}')" if names else ""
        raise DatasetRejected(f"{where}: target column '{column.name}' has one class{only}; a classifier needs two")
    return ("binary_classification" if len(names) == 2 else "multiclass_classification"), names


def target_task(column: Column, override: Task | None, *, where: str) -> tuple[Task, list[str]]:
    """(task, class names) for this target column: detected, or the override when the column allows it."""
    names = _class_names(column)
    if column.dtype == "text":
        raise DatasetRejected(
            f"{where}: target column '{column.name}' has more than {MAX_CATEGORIES} distinct strings; "
            "it is neither a number nor a set of classes"
        )
    if override is None:
        if names is not None:
            return _classification(column, names, where)
        return "regression", []
    if override in ("binary_classification", "multiclass_classification"):
        if names is None:
            raise DatasetRejected(
                f"{where}: task '{override}' needs a target with at most {MAX_CLASS_VALUES} integer values or "
                f"categories, but column '{column.name}' is real-valued"
            )
        task, names = _classification(column, names, where)
        if override == "binary_classification" and task != override:
            raise DatasetRejected(
                f"{where}: task 'binary_classification' needs two classes, '{column.name}' has {len(names)}"
            )
        return override, names
    if column.dtype != "number":
        raise DatasetRejected(
            f"{where}: task '{override}' needs a numeric target, column '{column.name}' is {column.dtype}"
        )
    if override == "count_regression" and not column.nonnegative_integers:
        raise DatasetRejected(f"{where}: task 'count_regression' needs non-negative integer targets in '{column.name}'")
    if override == "multilabel_classification":
        raise DatasetRejected(f"{where}: task 'multilabel_classification' needs an NPZ whose y is 2-D and 0/1")
    return override, []
