"""A trained model's description (`model.json`): what rebuilds it from the catalog, what its inputs are and how they
are encoded, and what its outputs mean. The worker writes it when it exports a job's model; the API reads it to check
and encode prediction requests. Pure data: no torch, no numpy.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.components.base import Inputs, Task
from core.facts import HeadKind

CARD_VERSION: Literal[1] = 1
Which = Literal["final", "best"]
ModelFormat = Literal["safetensors", "onnx"]
# The ONNX graph's names: one input, and these outputs (probabilities only for heads that have them).
ONNX_INPUT = "input"
ONNX_PREDICTION = "prediction"
ONNX_PROBABILITIES = "probabilities"


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureColumn(_Card):
    """One raw column a prediction row gives, in the order rows give them (tables; named features of bundled data)."""

    name: str
    dtype: Literal["number", "boolean", "category"] = "number"
    categories: list[str] | None = Field(
        default=None, description="A category column's values in one-hot order; any other value is refused."
    )
    fill: float | None = Field(
        default=None,
        description="What a missing value becomes (the training mean, when the job filled missing values); "
        "null: a missing value is refused.",
    )

    @property
    def width(self) -> int:
        """How many model inputs the column becomes (one per category, one-hot; else one)."""
        return len(self.categories) if self.dtype == "category" and self.categories else 1


class ModelInput(_Card):
    """What the model takes per sample, after the columns are encoded: the ONNX input is [batch, *shape]."""

    kind: Inputs
    shape: list[int]
    dtype: Literal["float32", "int64"]
    vocab_size: int = Field(default=0, description="Token inputs: ids run from 0 to vocab_size - 1.")
    pixel_scale: float | None = Field(
        default=None,
        description="Images: the ONNX graph multiplies raw pixels by this first (1/255 for 8-bit images); "
        "the safetensors model takes pixels already scaled.",
    )


class Normalization(_Card):
    """Standardisation with the training split's statistics, per model input (flattened), inside the ONNX graph."""

    mean: list[float]
    scale: list[float]


class OnnxFile(_Card):
    """An exported ONNX file and how closely it matched torch."""

    sha256: str
    bytes: int
    opset: int
    max_abs_diff: float = Field(description="Largest difference from torch's outputs on the checked rows.")
    checked_rows: int


class Weights(_Card):
    """One set of weights: the final ones, or the best by the job's tracked metric."""

    sha256: str = Field(description="The safetensors file's sha256 (its ETag).")
    bytes: int
    epoch: int = Field(description="The epoch after which these weights were taken.")
    metric: str | None = Field(default=None, description="best: the metric it is best by.")
    value: float | None = Field(default=None, description="best: the metric's value at that epoch.")
    onnx: OnnxFile | None = None


class ModelCard(_Card):
    """model.json: everything needed to rebuild, feed and read a trained model, with no code and no pickle."""

    format_version: Literal[1] = CARD_VERSION
    job_id: str
    model: dict[str, Any] = Field(description="The job spec's model component: build it from the catalog.")
    task: Task
    head: HeadKind = Field(description="How the outputs are read: classes, binary, multilabel, regression, ...")
    n_outputs: int = Field(description="Raw outputs per sample of the model (its last layer).")
    input: ModelInput
    features: list[FeatureColumn] = Field(
        default=[], description="Feature-table models: the raw columns of a row, in order; empty for images/tokens."
    )
    normalization: Normalization | None = None
    target: str | None = None
    classes: list[str] = Field(default=[], description="Class (or label) names in the order of the outputs.")
    outputs: dict[str, str] = Field(description="Each ONNX output's name and what it holds.")
    weights: dict[Which, Weights]
    onnx_unavailable: str | None = Field(default=None, description="Why there is no ONNX file, when there is none.")

    def feature_width(self) -> int:
        """Model inputs per row once the feature columns are encoded."""
        return sum(column.width for column in self.features)
