"""What a dataset calls its classes, features and target: the names a trained model's description (model.json)
gives its inputs and outputs."""

from dataclasses import dataclass

from core.components import BundledDataset, Cifar10, DatasetSpec, FashionMnist, Thermometer, Upload
from core.facts import DatasetFacts
from worker.datasets.bundled import bundled_names

# torchvision's names for these classes (CIFAR-10 reads them from its files; they never change).
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass(frozen=True)
class Names:
    """Class (or label) names in output order, feature names in input order (feature tables only), the target."""

    classes: list[str]
    features: list[str]
    target: str | None = None


def _numbered_features(facts: DatasetFacts) -> list[str]:
    return [f"x{i}" for i in range(facts.input_shape[0])] if facts.inputs == "features" else []


def _numbered(facts: DatasetFacts) -> Names:
    return Names([str(i) for i in range(facts.n_classes)], _numbered_features(facts))


def dataset_names(spec: DatasetSpec, facts: DatasetFacts) -> Names:
    """The names of this dataset's classes, features and target; numbers ("0", "x0") where it has none."""
    match spec:
        case Upload():
            r = spec.resolved
            assert r is not None, "the server resolves an upload at submit"
            # A table names its columns; an NPZ of feature vectors has none.
            features = [c.name for c in r.features] or _numbered_features(facts)
            return Names(list(r.classes), features, r.target.name if r.target else None)
        case Thermometer():
            return Names([], ["t_u"], "t_c")
        case BundledDataset():
            classes, features = bundled_names(spec.name)
            return Names(classes if facts.n_classes else [], features if facts.inputs == "features" else [])
        case Cifar10():
            return Names(CIFAR10_CLASSES, [])
        case FashionMnist():
            return Names(FASHION_MNIST_CLASSES, [])
    return _numbered(facts)
