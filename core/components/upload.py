"""The dataset component of a job on an uploaded dataset; the server pins what it resolved (the hash, the columns)."""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.bounds import INT_MAX
from core.components.base import Component, Inputs, Normalize, NormalizeField, Task, ValFraction
from core.datasets.schema import MAX_CATEGORIES


class ResolvedColumn(BaseModel):
    """A column the job uses: where it is in the canonical form and how it becomes inputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    index: int = Field(ge=0, le=INT_MAX)
    dtype: Literal["number", "boolean", "category"]
    width: int = Field(default=1, ge=1, le=INT_MAX)  # inputs it becomes (categories: one per category, one-hot)
    # Category columns: the values in one-hot order (what a prediction request's values are encoded against).
    categories: list[str] | None = Field(default=None, max_length=MAX_CATEGORIES)


class ResolvedUpload(BaseModel):
    """What the server found when it admitted the job: the bytes it pins and the shape of the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    label: str  # the dataset's name, for messages
    format: str
    task: Task
    inputs: Inputs
    input_shape: list[Annotated[int, Field(ge=1, le=INT_MAX)]]
    rows: int = Field(ge=0, le=INT_MAX)
    n_classes: int = Field(default=0, ge=0, le=INT_MAX)
    classes: list[str] = []
    features: list[ResolvedColumn] = []  # tables only
    target: ResolvedColumn | None = None  # tables only
    class_values: list[float] | None = None  # a number target read as classes: its values in class order


class Upload(Component):
    """A dataset uploaded with POST /datasets (CSV/TSV, Parquet, NPZ, image archive), by its id."""

    # Any task, found from the data; left empty so that messages never suggest "a dataset such as 'upload'".
    tasks: ClassVar[tuple[Task, ...]] = ()
    inputs: ClassVar[tuple[Inputs, ...]] = ("features", "images")
    name: Literal["upload"]
    id: str = Field(
        min_length=1,
        max_length=71,
        description="The dataset's id (GET /datasets), or 'sha256:<hash>' of the uploaded file's bytes.",
    )
    target: str | None = Field(
        default=None, min_length=1, max_length=200, description="The target column; null: the dataset's."
    )
    features: list[str] | None = Field(
        default=None, min_length=1, max_length=1000, description="Feature columns; null: every other column."
    )
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField
    missing: Literal["refuse", "drop_rows", "mean"] = Field(
        default="refuse", description="Missing values: refuse the job, drop those rows, or fill features with means."
    )
    image_size: int | None = Field(
        default=None, ge=4, le=512, description="Image datasets: resize every image to this square size."
    )
    resolved: ResolvedUpload | None = Field(
        default=None, description="Filled by the server at submit (what is sent here is replaced)."
    )
