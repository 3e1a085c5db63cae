"""What an upload was found to hold: columns and their types, the target, the task and its classes, a preview."""

from typing import Any, Literal

from pydantic import BaseModel

from core.components.base import Task

Dtype = Literal["number", "boolean", "category", "text", "array"]
Format = Literal["csv", "parquet", "npz", "images"]
MAX_CLASS_VALUES = 20  # an integer column with at most this many distinct values can be a class target
MAX_CATEGORIES = 100  # a string column with at most this many distinct values is a category, else text
PREVIEW_ROWS = 10


class Column(BaseModel):
    """One column: its type, missing values, and what a job may do with it."""

    name: str
    dtype: Dtype
    nulls: int = 0
    role: Literal["feature", "target", "unusable"] = "feature"
    categories: list[str] | None = None  # category columns: one-hot order; class targets: class names
    class_values: list[float] | None = None  # number columns with few integer values: their sorted values
    nonnegative_integers: bool = False


class DatasetSchema(BaseModel):
    """The schema stored with a dataset and shown by GET /datasets/{id}."""

    format: Format
    rows: int
    task: Task
    target: str | None
    classes: list[str]
    columns: list[Column]
    inputs: Literal["features", "images"] = "features"
    shape: list[int] | None = None  # one sample's shape: [features] or [C, H, W]
    preview: list[dict[str, Any]] = []

    def column(self, name: str) -> Column | None:
        """The column of this name, if any."""
        return next((c for c in self.columns if c.name == name), None)
