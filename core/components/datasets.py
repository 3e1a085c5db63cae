"""Dataset components: bundled with scikit-learn, generated, or torchvision's files read from GRADYARD_DATA_DIR."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from core.components.base import (
    CLASSES,
    ClassWeights,
    Component,
    FeatureCount,
    Inputs,
    Normalize,
    NormalizeField,
    SampleCount,
    ValFraction,
    defined_in,
    one_of,
)
from core.components.upload import Upload


class BundledDataset(Component):
    """Shared fields of the datasets that ship with scikit-learn: a held-out share and optional scaling."""

    inputs: ClassVar[tuple[Inputs, ...]] = ("features",)
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class Thermometer(BundledDataset):
    """The 11 readings of the classic Celsius example: Celsius against an unknown thermometer's units."""

    tasks = ("regression",)
    name: Literal["thermometer"]


class Digits(BundledDataset):
    """scikit-learn's bundled 8x8 handwritten digits, 1797 samples, 10 classes."""

    tasks = ("multiclass_classification",)
    inputs = ("images",)
    name: Literal["digits"]


class Iris(BundledDataset):
    """scikit-learn's bundled iris flowers: 150 samples, 4 features, 3 classes."""

    tasks = ("multiclass_classification",)
    name: Literal["iris"]


class Wine(BundledDataset):
    """scikit-learn's bundled wine recognition data: 178 samples, 13 features, 3 classes."""

    tasks = ("multiclass_classification",)
    name: Literal["wine"]


class BreastCancer(BundledDataset):
    """scikit-learn's bundled Wisconsin breast cancer data: 569 samples, 30 features, binary."""

    tasks = ("binary_classification",)
    name: Literal["breast_cancer"]


class Diabetes(BundledDataset):
    """scikit-learn's bundled diabetes progression data: 442 samples, 10 features, a real-valued target."""

    tasks = ("regression",)
    name: Literal["diabetes"]


class SyntheticRegression(Component):
    """A generated linear regression with Gaussian noise; optionally outliers in the training targets only."""

    tasks = ("regression",)
    inputs = ("features",)
    name: Literal["synthetic_regression"]
    n_samples: int = SampleCount
    n_features: int = FeatureCount
    noise: float = Field(default=0.1, ge=0.0, le=1000.0, description="Standard deviation of the target noise.")
    outlier_fraction: float = Field(
        default=0.0, ge=0.0, le=0.5, description="Share of training targets replaced by gross outliers."
    )
    outlier_scale: float = Field(
        default=50.0, ge=0.0, le=1e6, description="Outliers are shifted by this many target standard deviations."
    )
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticClassification(Component):
    """Generated Gaussian clusters, one per class; class_weights makes the classes imbalanced."""

    tasks = CLASSES
    inputs = ("features",)
    name: Literal["synthetic_classification"]
    n_samples: int = SampleCount
    n_features: int = FeatureCount
    n_classes: int = Field(default=3, ge=2, le=1000)
    class_sep: float = Field(default=1.0, gt=0.0, le=100.0, description="Distance between class centres.")
    class_weights: ClassWeights = None
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField

    @model_validator(mode="after")
    def _one_weight_per_class(self) -> "SyntheticClassification":
        if self.class_weights is not None:
            if len(self.class_weights) != self.n_classes:
                raise ValueError(f"class_weights needs one weight per class ({self.n_classes})")
            if sum(self.class_weights) <= 0:
                raise ValueError("class_weights must not all be 0")
        return self


class SyntheticMultilabel(Component):
    """Generated multi-label data: each label is on when a random direction of the features is positive enough."""

    tasks = ("multilabel_classification",)
    inputs = ("features",)
    name: Literal["synthetic_multilabel"]
    n_samples: int = SampleCount
    n_features: int = Field(default=16, ge=1, le=4096)
    n_labels: int = Field(default=5, ge=2, le=100)
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticCounts(Component):
    """Generated count data: Poisson counts whose log-rate is linear in the features."""

    tasks = ("count_regression",)
    inputs = ("features",)
    name: Literal["synthetic_counts"]
    n_samples: int = SampleCount
    n_features: int = FeatureCount
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticImages(Component):
    """Generated images, one noisy coarse pattern per class: CIFAR-10-shaped (or MNIST-shaped) with no download."""

    tasks = CLASSES
    inputs = ("images",)
    name: Literal["synthetic_images"]
    n_samples: int = Field(default=2000, ge=20, le=100_000)
    n_classes: int = Field(default=10, ge=2, le=100)
    channels: Literal[1, 3] = 3
    image_size: Literal[28, 32] = 32
    noise: float = Field(default=1.0, ge=0.0, le=100.0, description="Standard deviation of the pixel noise.")
    val_fraction: float = ValFraction
    normalize: Normalize = NormalizeField


class SyntheticTokens(Component):
    """Generated bags of token ids, each class with its own topic words: text-shaped data for embedding_bag."""

    tasks = CLASSES
    inputs = ("tokens",)
    name: Literal["synthetic_tokens"]
    n_samples: int = SampleCount
    n_classes: int = Field(default=4, ge=2, le=100)
    vocab_size: int = Field(default=1000, ge=10, le=100_000)
    seq_len: int = Field(default=20, ge=2, le=1000, description="Tokens per sample.")
    val_fraction: float = ValFraction


class TorchvisionDataset(Component):
    """Shared fields of the torchvision datasets: the training files train, the test files validate."""

    tasks = ("multiclass_classification",)
    inputs = ("images",)
    train_samples: int | None = Field(
        default=None, ge=20, le=60_000, description="Use only the first N training images; null: all."
    )
    val_samples: int = Field(default=10_000, ge=0, le=10_000, description="Test images used for validation.")
    normalize: Normalize = Field(default="standard", description="'standard': per-pixel training statistics.")


class Mnist(TorchvisionDataset):
    """MNIST handwritten digits (1x28x28, 10 classes), torchvision's files in GRADYARD_DATA_DIR."""

    name: Literal["mnist"]


class FashionMnist(TorchvisionDataset):
    """Fashion-MNIST clothing images (1x28x28, 10 classes), torchvision's files in GRADYARD_DATA_DIR."""

    name: Literal["fashion_mnist"]


class Cifar10(TorchvisionDataset):
    """CIFAR-10 colour images (3x32x32, 10 classes), torchvision's files in GRADYARD_DATA_DIR."""

    name: Literal["cifar10"]


# Upload lives in its own module (with what the server resolves for it), last in the catalog as before.
DATASETS: tuple[type[Component], ...] = (*defined_in(__name__, Component), Upload)
if TYPE_CHECKING:
    DatasetSpec = Component
else:
    DatasetSpec = one_of(DATASETS)
