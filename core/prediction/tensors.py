"""The model's input array: what the card says it takes, in words for every refusal, and the checks every body's
rows pass (the row cap, the shape, numbers that fit float32, token ids in the vocabulary)."""

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.model_card import ModelCard
from core.prediction.errors import PredictionRejected

Array = NDArray[Any]
MAX_NAMED = 20  # feature names listed in a message; a wide table's message stays readable


def quoted(names: list[str], most: int = MAX_NAMED) -> str:
    """Names quoted and joined, the first `most` of them."""
    shown = ", ".join(f"'{name}'" for name in names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


def expects(card: ModelCard) -> str:
    """What the model takes, in words: the end of every message that refuses a request."""
    shape, flat = card.input.shape, math.prod(card.input.shape)
    if card.input.kind == "tokens":
        top = f" from 0 to {card.input.vocab_size - 1}" if card.input.vocab_size else ""
        return f"this model takes rows of {flat} token ids (integers{top})"
    if card.input.kind == "images":
        return f"this model takes images of shape {shape} (nested arrays, or rows of {flat} numbers)"
    if card.features:
        names = quoted([f.name for f in card.features])
        return (
            f"this model takes rows of {len(card.features)} values in this order: {names} "
            "(or records keyed by those names)"
        )
    return f"this model takes rows of {flat} numbers"


def check_rows(count: int, *, max_rows: int, card: ModelCard) -> None:
    """Refuse a request with no rows, or with more than this server takes at once."""
    if count == 0:
        raise PredictionRejected(f"the request holds no rows: send at least one; {expects(card)}")
    if count > max_rows:
        raise PredictionRejected(
            f"the request holds {count:,} rows, more than the {max_rows:,} this server takes at once: "
            "send them in smaller requests"
        )


def _first(mask: Array) -> int:
    """The row of the first True in a [N, ...] mask."""
    return int(np.argwhere(mask)[0][0])


def _token_ids(card: ModelCard, x: Array, what: str) -> Array:
    if x.dtype.kind not in "iu":
        raise PredictionRejected(f"{what} holds {x.dtype.name} values, not integers: {expects(card)}")
    vocab = card.input.vocab_size
    outside = (x < 0) | (x >= vocab) if vocab else x < 0
    if outside.any():
        row = _first(outside)
        raise PredictionRejected(f"row {row} holds a token id outside the vocabulary: {expects(card)}")
    return np.ascontiguousarray(x, dtype=np.int64)


def as_input(card: ModelCard, raw: Array, *, what: str) -> Array:
    """Rows of numbers ([N, *shape], or [N, flat]) as the ONNX input: float32 (finite) or int64 token ids."""
    shape, flat = tuple(card.input.shape), math.prod(card.input.shape)
    if raw.dtype.kind not in "iuf":
        raise PredictionRejected(f"{what} holds {raw.dtype.name} values, not numbers: {expects(card)}")
    if raw.ndim >= 2 and raw.shape[1:] == shape:
        x = raw
    elif raw.ndim == 2 and raw.shape[1] == flat:
        x = raw.reshape((raw.shape[0], *shape))
    else:
        raise PredictionRejected(
            f"{what} has shape {list(raw.shape)}, so each row has shape {list(raw.shape[1:])}: {expects(card)}"
        )
    if card.input.dtype == "int64":
        return _token_ids(card, x, what)
    with np.errstate(over="ignore"):  # a number past float32's range becomes inf, refused just below
        x32 = np.ascontiguousarray(x, dtype=np.float32)
    if x.dtype.kind == "f" and not np.isfinite(x32).all():
        row = _first(~np.isfinite(x32))
        raise PredictionRejected(f"row {row} holds a number that is not finite in float32 (the model's type)")
    return x32
