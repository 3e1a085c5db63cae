"""Response shapes of the dataset routes."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from core.datasets.schema import Column
from core.tables import Dataset


class DatasetOut(BaseModel):
    """One uploaded dataset: what was found in it at upload."""

    id: str
    name: str
    format: str
    sha256: str
    bytes: int
    rows: int
    task: str
    target: str | None
    classes: list[str]
    columns: list[Column]
    shape: list[int] | None
    inputs: str
    preview: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, dataset: Dataset) -> "DatasetOut":
        """The response for a dataset row."""
        schema = dataset.schema
        return cls(
            id=dataset.id,
            name=dataset.name,
            format=dataset.format,
            sha256=dataset.sha256,
            bytes=dataset.bytes,
            rows=dataset.rows,
            task=dataset.task,
            target=dataset.target,
            classes=schema["classes"],
            columns=[Column.model_validate(c) for c in schema["columns"]],
            shape=schema.get("shape"),
            inputs=schema.get("inputs", "features"),
            preview=schema.get("preview", []),
            created_at=dataset.created_at,
        )


class DatasetList(BaseModel):
    """A page of datasets, newest first."""

    items: list[DatasetOut]
    next_cursor: str | None
