"""How much memory a job needs, estimated from its spec alone (no torch in core).

Three parts, each an upper estimate of what the worker holds at its peak:
- the data while it is loaded: generated datasets are drawn in float64 by numpy and copied to float32 tensors, so the
  peak holds several arrays of the same size at once;
- the parameters with their gradients and the optimizer's state (each a float32 copy of the parameters);
- the activations one training batch keeps for the backward pass, and the gradients the backward pass makes of them.
A worker test checks the data part against the peak memory of a real load.
"""

import math
from dataclasses import dataclass

from core.components import (
    CifarCnn,
    EmbeddingBag,
    LeNet,
    Linear,
    Logistic,
    Mlp,
    ResNet18,
    SyntheticClassification,
    SyntheticImages,
    SyntheticTokens,
    TorchvisionDataset,
)
from core.facts import DatasetFacts, dataset_facts, head_size
from core.model_size import parameter_count
from core.spec import JobSpec

GIB = 1 << 30
FLOAT32 = 4
# Peak bytes per value while a dataset is loaded (numpy draws in float64, 8 bytes; the split copies the arrays before
# the originals go; then a float32 copy). Regression, multi-label and counts: the draw and its split copy, 2 x 8.
# Classification and images: the per-sample centres or patterns, the noise and their sum, 3 x 8. Tokens: the int64
# draws, topic picks and chosen ids (3 x 8), the bool mask (1) and the int64 result (8). Files: uint8 pixels and two
# float32 copies (scaled, then normalised).
DRAW_AND_SPLIT_BYTES_PER_VALUE = 16
DRAW_NOISE_AND_SUM_BYTES_PER_VALUE = 24
TOKEN_BYTES_PER_VALUE = 33
FILE_BYTES_PER_VALUE = 9
# The backward pass makes a gradient for each kept activation (freed as it goes, but two layers' worth at least are
# alive at once): counting every activation twice is the simple upper bound.
BACKWARD_FACTOR = 2
# A ResNet-18 stage keeps, per block, conv, batch norm and ReLU outputs for each of its two convolutions and the sum
# of the residual (7 tensors), two blocks a stage; the first block of stages 2 to 4 adds a downsampling conv and batch
# norm. 16 tensors of the stage's size bounds all four stages.
RESNET_TENSORS_PER_STAGE = 16


@dataclass(frozen=True)
class MemoryEstimate:
    """A job's memory at its peak, by part, in bytes."""

    data: int
    parameters: int
    activations: int
    batch: int

    @property
    def total(self) -> int:
        """The three parts together."""
        return self.data + self.parameters + self.activations


def _data_bytes(spec: JobSpec, facts: DatasetFacts) -> int:
    values = facts.n_samples * math.prod(facts.input_shape)
    match spec.dataset:
        case SyntheticTokens():
            per_value = TOKEN_BYTES_PER_VALUE
        case TorchvisionDataset():
            per_value = FILE_BYTES_PER_VALUE
        case SyntheticClassification() | SyntheticImages():
            per_value = DRAW_NOISE_AND_SUM_BYTES_PER_VALUE
        case _:
            per_value = DRAW_AND_SPLIT_BYTES_PER_VALUE
    # Targets: at most one float64 per class and sample, drawn, split and converted (3 x 8 bytes); and the shuffled
    # order with the split's two index arrays (int64, 2 x 8 bytes a sample).
    targets = facts.n_samples * max(facts.n_classes, 1) * 24
    indices = facts.n_samples * 16
    return values * per_value + targets + indices


def _resnet18_values(spec: ResNet18, shape: tuple[int, ...]) -> int:
    channels, size = shape[0], shape[-1]
    if spec.small_inputs:  # 3x3 stem, stride 1, no max pool: the first stage sees the full image
        stem, side = 3 * 64 * size * size, size
    else:  # 7x7 stem at stride 2 (conv, bn, relu), then a stride-2 max pool
        half = math.ceil(size / 2)
        side = math.ceil(half / 2)
        stem = 3 * 64 * half * half + 3 * 64 * side * side  # the pool's output and its int64 indices
    stages = 0
    for width in (64, 128, 256, 512):
        stages += RESNET_TENSORS_PER_STAGE * width * side * side
        side = math.ceil(side / 2)
    return channels * size * size + stem + stages + 512


def activation_values(spec: JobSpec, facts: DatasetFacts) -> int:
    """Float values the forward pass of one sample keeps for the backward pass."""
    n_in, n_out = math.prod(facts.input_shape), head_size(spec)
    match spec.model:
        case Linear() | Logistic():
            return n_in + n_out
        case Mlp():
            per_layer = 2 + (1 if spec.model.dropout > 0 else 0)  # the affine output, the activation, the mask
            return n_in + per_layer * sum(spec.model.hidden) + n_out
        case CifarCnn():
            # conv 64x28x28 and its ReLU, pool 64x14x14 (and its int64 indices: 3 values each), conv 30x10x10 and
            # its ReLU, pool 30x5x5 with indices, fc 128 and its ReLU
            return n_in + 2 * 64 * 28 * 28 + 3 * 64 * 14 * 14 + 2 * 30 * 10 * 10 + 3 * 30 * 5 * 5 + 2 * 128 + n_out
        case LeNet():
            # both input sizes reach conv 6x28x28 (28x28 inputs are padded by 2): conv and activation, pool 6x14x14
            # with its int64 indices (3 values each), conv 16x10x10 and activation, pool 16x5x5 with indices, fc 120
            # and 84 with their activations
            convs = 2 * 6 * 28 * 28 + 3 * 6 * 14 * 14 + 2 * 16 * 10 * 10 + 3 * 16 * 5 * 5
            return n_in + convs + 2 * (120 + 84) + n_out
        case ResNet18():
            return _resnet18_values(spec.model, facts.input_shape) + n_out
        case EmbeddingBag():
            # the int64 token ids are kept twice (8 bytes: two float32 values each), with the bags' offsets and sizes
            return 4 * n_in + 8 + n_out
    raise AssertionError(f"no activation count for model {spec.model.name}")


def estimate_memory(spec: JobSpec) -> MemoryEstimate:
    """The memory this job needs at its peak, by part."""
    facts = dataset_facts(spec.dataset)
    batch = min(spec.batch_size or facts.n_train, max(facts.n_train, 1))
    copies = 2 + spec.optimizer.state_copies()  # the parameters, their gradients, the optimizer's state
    return MemoryEstimate(
        data=_data_bytes(spec, facts),
        parameters=parameter_count(spec) * FLOAT32 * copies,
        activations=batch * activation_values(spec, facts) * FLOAT32 * BACKWARD_FACTOR,
        batch=batch,
    )


def gib(n_bytes: float) -> str:
    """Bytes as GiB for a message, to two decimals."""
    return f"{n_bytes / GIB:,.2f} GiB"
