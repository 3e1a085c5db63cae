"""Shapes of the model routes: a job's model and its files (in JobOut), and a prediction's request and answer."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from core.model_card import ModelCard, ModelFormat, Which
from core.states import ModelStatus
from core.tables import Job
from service.model_files import LEGACY, cached_card


class ModelFileOut(BaseModel):
    """One downloadable model file (GET /jobs/{id}/model?format=&which=)."""

    which: Which
    format: ModelFormat
    bytes: int
    sha256: str = Field(description="The file's sha256: its ETag.")
    epoch: int = Field(description="The epoch after which these weights were taken.")
    metric: str | None = Field(description="best: the metric the weights are best by; null for final.")
    value: float | None = Field(description="best: that metric's value; null for final.")
    max_abs_diff: float | None = Field(
        description="ONNX: the largest difference from torch's outputs on the rows checked at export; null for "
        "safetensors."
    )


class ModelOut(BaseModel):
    """A succeeded job's trained model: its state and, once ready, its files and the export check."""

    status: ModelStatus = Field(description="exporting (files being written), ready, or unavailable (see detail).")
    detail: str | None = Field(description="Why the model is unavailable, or a note.")
    files: list[ModelFileOut] = Field(description="The files to download; empty until ready.")
    onnx_unavailable: str | None = Field(description="Why the model has no ONNX file (so cannot predict), if so.")

    @classmethod
    def of(cls, job: Job) -> "ModelOut | None":
        """The model of a job: null until the job has succeeded."""
        if job.status != "succeeded":
            return None
        if job.model_status is None:
            return cls(status="unavailable", detail=LEGACY, files=[], onnx_unavailable=None)
        card = cached_card(job)
        if card is None:
            status: ModelStatus = "unavailable" if job.model_status == "ready" else job.model_status
            detail = "its model.json cannot be read" if job.model_status == "ready" else job.model_detail
            return cls(status=status, detail=detail, files=[], onnx_unavailable=None)
        return cls(status="ready", detail=job.model_detail, files=_files(card), onnx_unavailable=card.onnx_unavailable)


def _files(card: ModelCard) -> list[ModelFileOut]:
    files = []
    for which, weights in card.weights.items():
        common = {"which": which, "epoch": weights.epoch, "metric": weights.metric, "value": weights.value}
        files.append(
            ModelFileOut(format="safetensors", bytes=weights.bytes, sha256=weights.sha256, max_abs_diff=None, **common)
        )
        if (onnx := weights.onnx) is not None:
            files.append(
                ModelFileOut(
                    format="onnx", bytes=onnx.bytes, sha256=onnx.sha256, max_abs_diff=onnx.max_abs_diff, **common
                )
            )
    return files


class PredictInputs(BaseModel):
    """Rows of raw values: a feature table's values in model.json's feature order (a category as its name, a boolean
    as true/false, a missing value as null where the model fills it); images and token ids as nested arrays of the
    model's input shape, or flat rows of its numbers."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[list[Any]]


class PredictRecords(BaseModel):
    """Feature-table rows keyed by column name (model.json's feature names; a missing key is a missing value)."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]]


class SpecPatch(RootModel[dict[str, Any]]):
    """A JSON merge patch (RFC 7396) of a job's resolved spec: {"optimizer": {"lr": 0.01}} changes one value, null
    removes a key."""


class PredictionOut(BaseModel):
    """What the model makes of each row, in the order sent."""

    predictions: list[str | float | list[str] | list[float]] = Field(
        description="Classifiers: each row's class name (multi-label: the list of labels on); regression: the value "
        "in the target's units (a list for several targets); ranking: the score; embeddings: the vector."
    )
    probabilities: list[list[float]] | None = Field(
        description="Classifiers: each row's probability per class, in the order of `classes`; null for other heads."
    )
    classes: list[str] | None = Field(description="Classifiers: the class (or label) names; null for other heads.")
