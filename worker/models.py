"""Model builders: one per catalog model, each sized to the dataset's input and the loss's head."""

import math

from torch import nn

from core.components import CifarCnn, Linear, Mlp, ModelSpec

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


def build_model(spec: ModelSpec, *, input_shape: tuple[int, ...], n_out: int) -> nn.Module:
    """The model for this spec, taking inputs of input_shape and giving n_out outputs per sample."""
    n_in = math.prod(input_shape)
    match spec:
        case Linear():
            return nn.Sequential(nn.Flatten(), nn.Linear(n_in, n_out, bias=spec.bias))
        case Mlp():
            return _mlp(spec, n_in, n_out)
        case CifarCnn():
            return _cifar_cnn(n_out)
