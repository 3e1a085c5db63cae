"""How many trainable parameters a spec's model has, computed from the spec alone (no torch in core); a worker test
checks every formula against the built model."""

import itertools
import math

from core.components import CifarCnn, EmbeddingBag, LeNet, Linear, Logistic, Mlp, ResNet18
from core.facts import dataset_facts, head_size
from core.spec import JobSpec

# torchvision's ResNet-18 without its stem convolution and its final layer (11,689,512 - 9,408 - 513,000).
RESNET18_BODY = 11_167_104


def parameter_count(spec: JobSpec) -> int:
    """The number of trainable parameters of the model this spec builds."""
    facts = dataset_facts(spec.dataset)
    n_in, n_out = math.prod(facts.input_shape), head_size(spec)
    channels = facts.input_shape[0]
    match spec.model:
        case Linear() | Logistic():
            return n_in * n_out + (n_out if spec.model.bias else 0)
        case Mlp():
            widths = [n_in, *spec.model.hidden, n_out]
            return sum(a * b + b for a, b in itertools.pairwise(widths))
        case CifarCnn():
            return (3 * 64 * 25 + 64) + (64 * 30 * 25 + 30) + (750 * 128 + 128) + (128 * n_out + n_out)
        case LeNet():
            convs = (channels * 6 * 25 + 6) + (6 * 16 * 25 + 16)
            return convs + (400 * 120 + 120) + (120 * 84 + 84) + (84 * n_out + n_out)
        case ResNet18():
            stem = channels * 64 * (9 if spec.model.small_inputs else 49)
            return RESNET18_BODY + stem + 512 * n_out + n_out
        case EmbeddingBag():
            return facts.vocab_size * n_out
    raise AssertionError(f"no parameter count for model {spec.model.name}")
