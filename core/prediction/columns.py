"""One feature column of a prediction request encoded as the model's inputs, as the worker encoded it at training
(worker.datasets.uploaded): a number as itself, a boolean as 0/1, a category one-hot over the card's categories;
a missing value becomes the column's fill, or is refused when the job trained with none."""

import numpy as np

from core.model_card import FeatureColumn, ModelCard
from core.prediction.errors import PredictionRejected
from core.prediction.tensors import Array, expects, quoted

MAX_UNKNOWN = 5  # unknown category values named in a message


def _no_fill(card: ModelCard, feature: FeatureColumn, row: int, noun: str) -> PredictionRejected:
    return PredictionRejected(
        f"{noun} {row} has no value for '{feature.name}', and this model fills no missing values in it "
        f"(it trained with none): give every {noun} a value; {expects(card)}"
    )


def numbers(card: ModelCard, feature: FeatureColumn, values: Array, missing: Array | None, noun: str) -> Array:
    """A number or boolean column ([N] float64, and where values are missing) as one model input per row."""
    if missing is not None and missing.any():
        if feature.fill is None:
            raise _no_fill(card, feature, int(np.flatnonzero(missing)[0]), noun)
        values = np.where(missing, feature.fill, values)
    if feature.dtype == "boolean":
        wrong = (values != 0) & (values != 1)
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            raise PredictionRejected(
                f"{noun} {row} holds {values[row]:g} for '{feature.name}', a boolean column: "
                f"give true or false (or 1 or 0); {expects(card)}"
            )
    return values.reshape(-1, 1)


def unknown_categories(card: ModelCard, feature: FeatureColumn, unknown: list[str]) -> PredictionRejected:
    """The refusal of values a category column never had at training, naming them and the known ones."""
    shown = quoted(sorted(set(unknown)), MAX_UNKNOWN)
    return PredictionRejected(
        f"'{feature.name}' has categories this model never saw: {shown}; "
        f"it knows {quoted(feature.categories or [], 50)}"
    )


def one_hot(card: ModelCard, feature: FeatureColumn, codes: Array, noun: str) -> Array:
    """A category column's codes ([N] int, -1 where missing) one-hot over its categories; a missing value is all
    zeros (as at training) when the column has a fill, else refused."""
    missing = codes < 0
    if missing.any() and feature.fill is None:
        raise _no_fill(card, feature, int(np.flatnonzero(missing)[0]), noun)
    encoded = np.zeros((len(codes), feature.width), dtype=np.float64)
    present = np.flatnonzero(~missing)
    encoded[present, codes[present]] = 1.0
    return encoded
