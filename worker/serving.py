"""The model as it is served: raw inputs in (pixel scaling and standardisation inside), the prediction the job's
metrics read out (and probabilities, for heads that have them) out. The ONNX file is this module, exported."""

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from core.components import Bce, BceWithLogits, Focal, LossSpec, MultilabelSoftMargin, SoftMargin
from core.facts import HeadKind
from core.model_card import ONNX_PREDICTION, ONNX_PROBABILITIES

# Losses whose head is a logit per class or label: a sigmoid of it is the probability of that class or label.
LOGIT_HEADS = (Bce, BceWithLogits, SoftMargin, Focal, MultilabelSoftMargin)
LABEL_KINDS: tuple[HeadKind, ...] = ("classes", "binary", "multilabel")


def has_probabilities(kind: HeadKind, loss: LossSpec) -> bool:
    """Whether the head's outputs read as probabilities: softmax over classes, or sigmoids of logit heads."""
    return kind == "classes" or (kind in ("binary", "multilabel") and isinstance(loss, LOGIT_HEADS))


def output_meanings(kind: HeadKind, loss: LossSpec, n_outputs: int) -> dict[str, str]:
    """What each ONNX output holds, in words (model.json's `outputs`)."""
    prediction = {
        "classes": "int64 [N]: the class index (argmax of the scores, as the job's accuracy reads them)",
        "binary": "int64 [N]: the predicted class, 0 or 1 (as the job's accuracy reads it)",
        "multilabel": "int64 [N, L]: 1 where a label is on, else 0 (as the job's accuracy reads them)",
        "regression": f"float32 [N, {1 if n_outputs == 2 else n_outputs}]: the predicted value, in the target's "
        "units" + (" (the Gaussian's mean)" if n_outputs == 2 else ""),
        "ranking": "float32 [N, 1]: the ranking score (higher ranks first)",
        "embedding": f"float32 [N, {n_outputs}]: the embedding vector",
    }[kind]
    meanings = {ONNX_PREDICTION: prediction}
    if has_probabilities(kind, loss):
        meanings[ONNX_PROBABILITIES] = {
            "classes": "float32 [N, C]: softmax over the classes, in `classes` order",
            "binary": "float32 [N, 2]: p(class 0), p(class 1)",
            "multilabel": "float32 [N, L]: the sigmoid of each label's logit",
        }[kind]
    return meanings


def _binary_probabilities(output: torch.Tensor) -> torch.Tensor:
    positive = torch.sigmoid(output[:, 0])
    return torch.stack([1.0 - positive, positive], dim=1)


class Served(nn.Module):
    """Raw inputs -> pixel scaling -> standardisation -> the trained model -> its readout (and probabilities)."""

    # Named apart from anything a model's graph names its values ("mean" is the output of resnet18's pooling), so
    # the ONNX file never declares one name twice.
    input_mean: torch.Tensor | None
    input_scale: torch.Tensor | None

    def __init__(
        self,
        model: nn.Module,
        readout: Callable[[torch.Tensor], torch.Tensor],
        *,
        kind: HeadKind,
        probabilities: bool,
        pixel_divisor: float | None = None,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.model, self.readout, self.kind = model, readout, kind
        self.probabilities, self.pixel_divisor = probabilities, pixel_divisor
        # The training split's statistics in one sample's shape, so they broadcast over the batch as in training.
        self.register_buffer("input_mean", None if mean is None else torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("input_scale", None if scale is None else torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The prediction, or (prediction, probabilities)."""
        if self.pixel_divisor is not None:
            x = x / self.pixel_divisor  # a division, as the data loader did: bit for bit the training inputs
        if self.input_mean is not None and self.input_scale is not None:
            x = (x - self.input_mean) / self.input_scale
        output = self.model(x).float()
        prediction = self.readout(output)
        if self.kind in LABEL_KINDS:
            prediction = prediction.long()
        elif self.kind == "ranking":
            prediction = prediction.reshape(-1, 1)
        if not self.probabilities:
            return prediction
        if self.kind == "classes":
            return prediction, torch.softmax(output, dim=1)
        return prediction, (_binary_probabilities(output) if self.kind == "binary" else torch.sigmoid(output))


def on_cpu(model: nn.Module) -> nn.Module:
    """The trained model on the CPU, in eval mode, float32 and contiguous (a model trained on CUDA is moved)."""
    model = model.to(torch.device("cpu")).to(memory_format=torch.contiguous_format)
    return model.float().eval()
