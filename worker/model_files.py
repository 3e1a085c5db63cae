"""Rebuild a trained model from its files alone: `model.json` names a catalog model and its input, the safetensors
file holds its weights. No pickle and no code from the files: the model is built by `worker.models.build_model`.

The rebuilt model takes inputs as the job trained on them: pixels already scaled (`card.input.pixel_scale`) and
standardised (`card.normalization`); the ONNX file takes raw inputs instead.
"""

import math
from pathlib import Path

from pydantic import TypeAdapter
from safetensors.torch import load_model
from torch import nn

from core.facts import DatasetFacts
from core.model_card import ModelCard
from core.spec import Model
from worker.models import build_model

_MODEL = TypeAdapter(Model)


def read_card(path: Path) -> ModelCard:
    """A model.json, validated."""
    return ModelCard.model_validate_json(path.read_bytes())


def build_from_card(card: ModelCard) -> nn.Module:
    """The card's model from the catalog, with fresh weights."""
    spec = _MODEL.validate_python(card.model)
    facts = DatasetFacts(
        task=card.task,
        input_shape=tuple(card.input.shape),
        n_train=0,
        n_val=0,
        n_classes=len(card.classes),
        inputs=card.input.kind,
        vocab_size=card.input.vocab_size,
    )
    if math.prod(facts.input_shape) < 1:
        raise ValueError(f"model.json has an empty input shape {card.input.shape}")
    return build_model(spec, facts=facts, n_out=card.n_outputs)


def rebuild(card_path: Path, weights_path: Path) -> nn.Module:
    """The trained model from model.json and a .safetensors file (final or best), on the CPU, in eval mode."""
    model = build_from_card(read_card(card_path))
    load_model(model, str(weights_path), strict=True)
    return model.eval()
