"""model.json for a trained run: what rebuilds the model from the catalog, what its inputs are (shape, dtype, named
feature columns with their encodings, pixel scale, standardisation) and what its outputs mean."""

import numpy as np

from core.components import Upload
from core.facts import head_kind, head_size
from core.model_card import FeatureColumn, ModelCard, ModelInput, Normalization, Weights, Which
from core.spec import JobSpec
from worker.data import RawInputs
from worker.datasets.names import dataset_names
from worker.serving import output_meanings
from worker.trained import Trained


class ExportProblem(Exception):
    """The model cannot be described (so no model files are written); the message says why."""


def _upload_columns(spec: Upload, raw: RawInputs) -> list[FeatureColumn]:
    assert spec.resolved is not None, "the server resolves an upload at submit"
    columns = []
    for column in spec.resolved.features:
        if column.dtype == "category" and column.categories is None:
            raise ExportProblem(
                f"the job was admitted before category lists were kept, so column '{column.name}' cannot be "
                "encoded for predictions: rerun the job"
            )
        categories = column.categories if column.dtype == "category" else None
        columns.append(
            FeatureColumn(name=column.name, dtype=column.dtype, categories=categories, fill=raw.fills.get(column.name))
        )
    return columns


def _features(spec: JobSpec, trained: Trained, names: list[str]) -> list[FeatureColumn]:
    if trained.facts.inputs != "features":
        return []  # images and tokens: rows are nested arrays of the input shape
    if isinstance(spec.dataset, Upload) and spec.dataset.resolved and spec.dataset.resolved.features:
        return _upload_columns(spec.dataset, trained.raw)
    return [FeatureColumn(name=name) for name in names]


def _normalization(raw: RawInputs) -> Normalization | None:
    if raw.mean is None or raw.scale is None:
        return None
    flat = [np.asarray(raw.mean, dtype=np.float32).ravel(), np.asarray(raw.scale, dtype=np.float32).ravel()]
    return Normalization(mean=flat[0].tolist(), scale=flat[1].tolist())


def _model_input(trained: Trained) -> ModelInput:
    facts, divisor = trained.facts, trained.raw.pixel_divisor
    return ModelInput(
        kind=facts.inputs,
        shape=list(facts.input_shape),
        dtype="int64" if facts.inputs == "tokens" else "float32",
        vocab_size=facts.vocab_size,
        pixel_scale=None if divisor is None else 1.0 / divisor,
    )


def describe(
    job_id: str,
    spec: JobSpec,
    trained: Trained,
    *,
    weights: dict[Which, Weights],
    onnx_unavailable: str | None,
) -> ModelCard:
    """The model's card: everything needed to rebuild, feed and read it, with no code."""
    names = dataset_names(spec.dataset, trained.facts)
    kind = head_kind(spec.loss, trained.facts.task)
    n_outputs = head_size(spec)
    return ModelCard(
        job_id=job_id,
        model=spec.model.model_dump(mode="json"),
        task=trained.facts.task,
        head=kind,
        n_outputs=n_outputs,
        input=_model_input(trained),
        features=_features(spec, trained, names.features),
        normalization=_normalization(trained.raw),
        target=names.target,
        classes=names.classes,
        outputs=output_meanings(kind, spec.loss, n_outputs),
        weights=weights,
        onnx_unavailable=onnx_unavailable,
    )


def check_features(card: ModelCard) -> None:
    """Refuse a card whose encoded feature columns do not add up to the model's input (a bug, not a user error)."""
    if card.features and card.feature_width() != int(np.prod(card.input.shape)):
        raise ExportProblem(
            f"the feature columns encode to {card.feature_width()} inputs, the model takes {card.input.shape}"
        )
