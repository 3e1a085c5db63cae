"""Model components: each is sized at build time to the dataset's input and the loss's head."""

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from core.components.base import ALL_TASKS, CLASSES, Component, defined_in, one_of


class ModelComponent(Component):
    """A model: sized at build time to the dataset's input and the loss's head."""

    # Whether it convolves 4-d image batches (so channels_last can reorder them); the others flatten or embed.
    convolutional: ClassVar[bool] = False


class Linear(ModelComponent):
    """One affine layer: inputs flattened, one output per target, class or embedding dimension."""

    tasks = ALL_TASKS
    inputs = ("features", "images")
    name: Literal["linear"]
    bias: bool = True


class Logistic(ModelComponent):
    """Logistic regression: one affine layer read through a sigmoid or softmax by the loss (classification only)."""

    aliases = ("logistic_regression",)
    tasks = (*CLASSES, "multilabel_classification")
    inputs = ("features", "images")
    name: Literal["logistic"]
    bias: bool = True


class Mlp(ModelComponent):
    """A multi-layer perceptron: inputs flattened, hidden layers each followed by the activation and dropout."""

    tasks = ALL_TASKS
    inputs = ("features", "images")
    name: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1, le=65536)]] = Field(
        default=[128], max_length=16, description="Width of each hidden layer."
    )
    activation: Literal["relu", "tanh", "gelu", "sigmoid", "leaky_relu"] = "relu"
    dropout: float = Field(default=0.0, ge=0.0, le=0.95)


class CifarCnn(ModelComponent):
    """The classic two-conv CIFAR-10 net: conv 3->64 k5, pool, conv 64->30 k5, pool, fc 750->128, fc 128->outputs."""

    aliases = ("cnn",)
    tasks = ALL_TASKS
    inputs = ("images",)
    convolutional = True
    name: Literal["cifar_cnn"]


class LeNet(ModelComponent):
    """LeNet-5: two 5x5 convolutions with pooling and three fully connected layers, for 28x28 or 32x32 images."""

    aliases = ("lenet5",)
    tasks = ALL_TASKS
    inputs = ("images",)
    convolutional = True
    name: Literal["lenet"]
    activation: Literal["relu", "tanh"] = "relu"


class ResNet18(ModelComponent):
    """torchvision's ResNet-18 (no pretrained weights) with any number of outputs and input channels."""

    aliases = ("resnet",)
    tasks = ALL_TASKS
    inputs = ("images",)
    convolutional = True
    name: Literal["resnet18"]
    small_inputs: bool = Field(
        default=True, description="A 3x3 stride-1 stem without max-pooling, the usual choice for 32x32 images."
    )
    zero_init_residual: bool = False


class EmbeddingBag(ModelComponent):
    """A bag-of-tokens classifier: one learned vector per token, pooled per sample (fastText-like)."""

    tasks = ALL_TASKS
    inputs = ("tokens",)
    name: Literal["embedding_bag"]
    mode: Literal["mean", "sum", "max"] = "mean"
    sparse: bool = Field(default=False, description="Sparse gradients for the token table (needed by sparse_adam).")

    @model_validator(mode="after")
    def _sparse_needs_sum_or_mean(self) -> "EmbeddingBag":
        if self.sparse and self.mode == "max":
            raise ValueError("sparse gradients need mode 'mean' or 'sum', not 'max'")
        return self


MODELS = defined_in(__name__, ModelComponent)
if TYPE_CHECKING:
    ModelSpec = ModelComponent
else:
    ModelSpec = one_of(MODELS)
