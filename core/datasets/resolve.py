"""A job on an upload, checked against the stored schema and pinned: target and features exist and can be used,
missing values are handled as asked, and the resolved spec carries the sha256 and the shape the fit check needs."""

from pathlib import Path

import numpy as np

from core.components.upload import ResolvedColumn, ResolvedUpload, Upload
from core.datasets.errors import DatasetRejected
from core.datasets.schema import Column, DatasetSchema
from core.datasets.tasks import target_task
from core.errors import SpecProblem

TARGET, FEATURES, MISSING = ("dataset", "target"), ("dataset", "features"), ("dataset", "missing")


def _names(schema: DatasetSchema) -> str:
    return ", ".join(f"'{c.name}'" for c in schema.columns[:30])


def _resolved_column(schema: DatasetSchema, column: Column) -> ResolvedColumn:
    categories = list(column.categories or []) if column.dtype == "category" else None
    width = len(categories) if categories is not None else 1
    dtype = column.dtype if column.dtype in ("number", "boolean", "category") else "number"
    index = schema.columns.index(column)
    return ResolvedColumn(name=column.name, index=index, dtype=dtype, width=width, categories=categories)


def _columns(spec: Upload, schema: DatasetSchema, label: str) -> tuple[Column, list[Column], list[SpecProblem]]:
    target_name = spec.target or schema.target
    target = schema.column(target_name or "")
    if target is None:
        return (
            schema.columns[-1],
            [],
            [SpecProblem(TARGET, f"dataset '{label}' has no column '{target_name}'; its columns: {_names(schema)}")],
        )
    names = spec.features or [c.name for c in schema.columns if c.name != target.name]
    problems, features = [], []
    for name in names:
        column = schema.column(name)
        if column is None:
            problems.append(
                SpecProblem(FEATURES, f"dataset '{label}' has no column '{name}'; its columns: {_names(schema)}")
            )
        elif column.name == target.name:
            problems.append(SpecProblem(FEATURES, f"column '{name}' is the target; it cannot also be a feature"))
        elif column.dtype == "text":
            problems.append(
                SpecProblem(
                    FEATURES,
                    f"column '{name}' of dataset '{label}' holds text (more than 100 "
                    "distinct strings), neither numbers nor categories: leave it out "
                    "of dataset.features",
                )
            )
        else:
            features.append(column)
    return target, features, problems


def _missing_problems(spec: Upload, used: list[Column], label: str) -> list[SpecProblem]:
    if spec.missing != "refuse":
        return []
    return [
        SpecProblem(
            MISSING,
            f"column '{c.name}' of dataset '{label}' has {c.nulls:,} missing values: set "
            "dataset.missing to 'drop_rows' or 'mean', or leave the column out",
        )
        for c in used
        if c.nulls
    ]


def _complete_rows(canonical: Path, columns: list[ResolvedColumn], missing: str, target: ResolvedColumn) -> int:
    """Rows left once the missing values are handled (features filled with means keep their rows)."""
    counted = [*columns, target] if missing == "drop_rows" else [target]
    with np.load(canonical, allow_pickle=False) as arrays:
        keep: np.ndarray | None = None
        for column in counted:
            values = arrays[f"col_{column.index}"]
            present = values >= 0 if column.dtype == "category" else ~np.isnan(values)
            keep = present if keep is None else keep & present
    return int(keep.sum()) if keep is not None else 0


def _table(
    spec: Upload, schema: DatasetSchema, sha256: str, label: str, canonical: Path
) -> ResolvedUpload | list[SpecProblem]:
    target, features, problems = _columns(spec, schema, label)
    if problems:
        return problems
    try:
        override = schema.task if target.name == schema.target else None
        task, classes = target_task(target, override, where=f"dataset '{label}'")
    except DatasetRejected as exc:
        return [SpecProblem(TARGET, str(exc))]
    problems = _missing_problems(spec, [*features, target], label)
    if problems:
        return problems
    resolved_features = [_resolved_column(schema, c) for c in features]
    resolved_target = _resolved_column(schema, target)
    rows = schema.rows
    if any(c.nulls for c in (*features, target)):
        rows = _complete_rows(canonical, resolved_features, spec.missing, resolved_target)
    is_classes = task in ("binary_classification", "multiclass_classification")
    return ResolvedUpload(
        sha256=sha256,
        label=label,
        format=schema.format,
        task=task,
        inputs="features",
        input_shape=[sum(c.width for c in resolved_features)],
        rows=rows,
        n_classes=len(classes) if is_classes else 0,
        classes=classes,
        features=resolved_features,
        target=resolved_target,
        class_values=target.class_values if is_classes and target.dtype == "number" else None,
    )


def resolve_upload(
    spec: Upload, schema: DatasetSchema, *, sha256: str, label: str, canonical: Path
) -> ResolvedUpload | list[SpecProblem]:
    """What the job will train on, or every problem with its columns."""
    if schema.format in ("csv", "parquet"):
        return _table(spec, schema, sha256, label, canonical)
    problems = []
    if spec.target not in (None, schema.target):
        problems.append(SpecProblem(TARGET, f"dataset '{label}' ({schema.format}) has one target, '{schema.target}'"))
    if spec.features is not None:
        problems.append(SpecProblem(FEATURES, f"dataset '{label}' ({schema.format}) has no columns to choose"))
    if spec.image_size is not None and schema.inputs != "images":
        problems.append(SpecProblem(("dataset", "image_size"), f"dataset '{label}' holds no images to resize"))
    if problems:
        return problems
    shape = list(schema.shape or [])
    if spec.image_size is not None:
        shape = [shape[0], spec.image_size, spec.image_size]
    n_classes = len(schema.classes) if schema.task != "regression" and schema.task != "count_regression" else 0
    return ResolvedUpload(
        sha256=sha256,
        label=label,
        format=schema.format,
        task=schema.task,
        inputs=schema.inputs,
        input_shape=shape,
        rows=schema.rows,
        n_classes=n_classes,
        classes=schema.classes,
    )
