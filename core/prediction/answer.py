"""The ONNX graph's outputs as the answer of POST /jobs/{id}/predict: class names for classifiers (the list of names
on per row for multi-label), values in the target's units for regression, vectors for embeddings; the probabilities
and the class names in their column order where the head has them. Encoded straight to JSON bytes (orjson reads
numpy arrays without a Python object per number)."""

from typing import Any

import numpy as np
import orjson

from core.model_card import ONNX_PREDICTION, ONNX_PROBABILITIES, ModelCard
from core.prediction.tensors import Array

CLASS_HEADS = ("classes", "binary", "multilabel")


def class_names(card: ModelCard) -> list[str]:
    """The names of the model's classes (or labels) in output order; index numbers where the card has none."""
    if card.classes:
        return list(card.classes)
    width = 2 if card.head == "binary" else card.n_outputs
    return [str(i) for i in range(width)]


def _predictions(card: ModelCard, prediction: Array) -> Any:
    if card.head == "multilabel":
        names = class_names(card)
        return [[names[j] for j in np.flatnonzero(row)] for row in prediction]
    if card.head in ("classes", "binary"):
        lookup = np.array(class_names(card), dtype=object)
        return lookup[prediction.reshape(-1)].tolist()
    if prediction.ndim == 2 and prediction.shape[1] == 1 and card.head in ("regression", "ranking"):
        return np.ascontiguousarray(prediction.reshape(-1))  # one value per row
    return np.ascontiguousarray(prediction)


def answer(card: ModelCard, outputs: dict[str, Array]) -> bytes:
    """The JSON body: {"predictions": [...], "probabilities": [[...]] or null, "classes": [...] or null}."""
    probabilities = outputs.get(ONNX_PROBABILITIES)
    body = {
        "predictions": _predictions(card, outputs[ONNX_PREDICTION]),
        "probabilities": None if probabilities is None else np.ascontiguousarray(probabilities),
        "classes": class_names(card) if card.head in CLASS_HEADS else None,
    }
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
