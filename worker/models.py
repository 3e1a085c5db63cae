"""Model builders: one per catalog model, each sized to the dataset's input and the loss's head."""

import math

from torch import nn
from torchvision.models import resnet18

from core.components import CifarCnn, EmbeddingBag, LeNet, Linear, Logistic, Mlp, ModelSpec, ResNet18
from core.facts import DatasetFacts

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


def _mlp(spec: Mlp, n_in: int, n_out: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = n_in
    for hidden in spec.hidden:
        layers += [nn.Linear(width, hidden), ACTIVATIONS[spec.activation]()]
        if spec.dropout > 0:
            layers.append(nn.Dropout(spec.dropout))
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _cifar_cnn(n_out: int) -> nn.Module:
    # 32 -> conv5 28 -> pool 14 -> conv5 10 -> pool 5: 30 channels x 5 x 5 = 750 features.
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 30, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(750, 128),
        nn.ReLU(),
        nn.Linear(128, n_out),
    )


def _lenet(spec: LeNet, shape: tuple[int, ...], n_out: int) -> nn.Module:
    # 28x28 inputs get the original's padding of 2, so both sizes reach 16 x 5 x 5 features.
    channels, size = shape[0], shape[1]
    act = ACTIVATIONS[spec.activation]
    return nn.Sequential(
        nn.Conv2d(channels, 6, kernel_size=5, padding=2 if size == 28 else 0),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5),
        act(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        act(),
        nn.Linear(120, 84),
        act(),
        nn.Linear(84, n_out),
    )


def _resnet18(spec: ResNet18, channels: int, n_out: int) -> nn.Module:
    model: nn.Module = resnet18(weights=None, num_classes=n_out, zero_init_residual=spec.zero_init_residual)
    if spec.small_inputs:
        model.conv1 = nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif channels != 3:
        model.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


def build_model(spec: ModelSpec, *, facts: DatasetFacts, n_out: int) -> nn.Module:
    """The model for this spec, taking the dataset's inputs and giving n_out outputs per sample."""
    n_in = math.prod(facts.input_shape)
    match spec:
        case Linear() | Logistic():
            return nn.Sequential(nn.Flatten(), nn.Linear(n_in, n_out, bias=spec.bias))
        case Mlp():
            return _mlp(spec, n_in, n_out)
        case CifarCnn():
            return _cifar_cnn(n_out)
        case LeNet():
            return _lenet(spec, facts.input_shape, n_out)
        case ResNet18():
            return _resnet18(spec, facts.input_shape[0], n_out)
        case EmbeddingBag():
            # One vector per token, pooled: the bag's vector is the output (all-sparse, so sparse_adam can train it).
            return nn.EmbeddingBag(max(facts.vocab_size, 1), n_out, mode=spec.mode, sparse=spec.sparse)
    raise AssertionError(f"no builder for model {spec.name}")
