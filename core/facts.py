"""What a spec implies before any data is loaded: the dataset's shape and task, the head the loss needs, and the
metrics the job records. Pure functions of the spec (no torch), shared by the fit check and the engine."""

from dataclasses import dataclass
from typing import Literal

from core.components import (
    Bce,
    BceWithLogits,
    BreastCancer,
    Cifar10,
    CosineEmbedding,
    DatasetSpec,
    Diabetes,
    Digits,
    FashionMnist,
    Focal,
    GaussianNll,
    HingeEmbedding,
    Inputs,
    Iris,
    LossSpec,
    MarginRanking,
    Mnist,
    SoftMargin,
    SyntheticClassification,
    SyntheticCounts,
    SyntheticImages,
    SyntheticMultilabel,
    SyntheticRegression,
    SyntheticTokens,
    Task,
    Thermometer,
    TripletMargin,
    Upload,
    Wine,
)
from core.components.losses import REGRESSION_LOSSES
from core.spec import JobSpec

HeadKind = Literal["regression", "ranking", "embedding", "multilabel", "binary", "classes"]
BINARY_HEAD_LOSSES = (Bce, BceWithLogits, SoftMargin, HingeEmbedding, Focal)
TORCHVISION_TRAIN_SIZES = {"mnist": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000}


@dataclass(frozen=True)
class DatasetFacts:
    """What the engine and the fit check need to know about a dataset before loading it."""

    task: Task
    input_shape: tuple[int, ...]
    n_train: int
    n_val: int
    n_classes: int = 0  # classes, or labels of a multi-label dataset; 0 for regression
    inputs: Inputs = "features"
    vocab_size: int = 0  # token datasets only
    label: str = ""  # how messages name the dataset, when not by its catalog name (an upload's file name)

    @property
    def n_samples(self) -> int:
        """Training and validation samples together."""
        return self.n_train + self.n_val


def _split(task: Task, shape: tuple[int, ...], n: int, val_fraction: float, **more: int | str) -> DatasetFacts:
    n_val = round(n * val_fraction)
    return DatasetFacts(task, shape, n - n_val, n_val, **more)  # type: ignore[arg-type]


def _classes(n_classes: int) -> Task:
    return "binary_classification" if n_classes == 2 else "multiclass_classification"


def dataset_facts(dataset: DatasetSpec) -> DatasetFacts:
    """The shape, size and task of a dataset, from its spec alone."""
    match dataset:
        case Mnist() | FashionMnist() | Cifar10():
            n_train = TORCHVISION_TRAIN_SIZES[dataset.name]
            shape = (3, 32, 32) if isinstance(dataset, Cifar10) else (1, 28, 28)
            train = min(dataset.train_samples or n_train, n_train)
            return DatasetFacts("multiclass_classification", shape, train, dataset.val_samples, 10, "images")
        case SyntheticTokens():
            n, c, vocab = dataset.n_samples, dataset.n_classes, dataset.vocab_size
            sequence = (dataset.seq_len,)
            return _split(
                _classes(c), sequence, n, dataset.val_fraction, n_classes=c, inputs="tokens", vocab_size=vocab
            )
        case Upload():
            return _upload_facts(dataset)
    return _tabular_facts(dataset)


def _upload_facts(dataset: Upload) -> DatasetFacts:
    """An upload's facts, from what the server resolved at submit (core.datasets.resolve)."""
    r = dataset.resolved
    if r is None:
        raise AssertionError("an upload's facts are known only once the server has resolved it")
    more: dict[str, int | str] = {"n_classes": r.n_classes, "inputs": r.inputs, "label": r.label}
    return _split(r.task, tuple(r.input_shape), r.rows, dataset.val_fraction, **more)


def _tabular_facts(dataset: DatasetSpec) -> DatasetFacts:
    vf = dataset.val_fraction  # type: ignore[attr-defined]
    match dataset:
        case Thermometer():
            return _split("regression", (1,), 11, vf)
        case Digits():
            return _split("multiclass_classification", (1, 8, 8), 1797, vf, n_classes=10, inputs="images")
        case Iris():
            return _split("multiclass_classification", (4,), 150, vf, n_classes=3)
        case Wine():
            return _split("multiclass_classification", (13,), 178, vf, n_classes=3)
        case BreastCancer():
            return _split("binary_classification", (30,), 569, vf, n_classes=2)
        case Diabetes():
            return _split("regression", (10,), 442, vf)
        case SyntheticRegression():
            return _split("regression", (dataset.n_features,), dataset.n_samples, vf)
        case SyntheticCounts():
            return _split("count_regression", (dataset.n_features,), dataset.n_samples, vf)
        case SyntheticClassification():
            c = dataset.n_classes
            return _split(_classes(c), (dataset.n_features,), dataset.n_samples, vf, n_classes=c)
        case SyntheticMultilabel():
            features = (dataset.n_features,)
            return _split("multilabel_classification", features, dataset.n_samples, vf, n_classes=dataset.n_labels)
        case SyntheticImages():
            shape = (dataset.channels, dataset.image_size, dataset.image_size)
            c = dataset.n_classes
            return _split(_classes(c), shape, dataset.n_samples, vf, n_classes=c, inputs="images")
    raise AssertionError(f"no facts for dataset {dataset.name}")


def head_kind(loss: LossSpec, task: Task) -> HeadKind:
    """How the model's outputs are read for this loss on this task: which predictions and metrics it gives."""
    if isinstance(loss, REGRESSION_LOSSES):
        return "regression"
    if isinstance(loss, MarginRanking):
        return "ranking"
    if isinstance(loss, CosineEmbedding | TripletMargin):
        return "embedding"
    if task == "multilabel_classification":
        return "multilabel"
    if task == "binary_classification" and isinstance(loss, BINARY_HEAD_LOSSES):
        return "binary"
    return "classes"


def head_size(spec: JobSpec) -> int:
    """How many outputs per sample the model's head gives for this dataset and loss."""
    facts = dataset_facts(spec.dataset)
    kind = head_kind(spec.loss, facts.task)
    if isinstance(spec.loss, CosineEmbedding | TripletMargin):
        return spec.loss.embedding_dim
    if kind in ("multilabel", "classes"):
        return facts.n_classes
    return 2 if isinstance(spec.loss, GaussianNll) else 1


def _metrics_of_head(kind: HeadKind, n_classes: int) -> tuple[list[str], list[str]]:
    """(train metrics, validation metrics) besides the losses and the learning rate."""
    scores = ["val_accuracy", "val_precision", "val_recall", "val_f1"]
    match kind:
        case "regression":
            return [], ["val_mae", "val_rmse", "val_r2"]
        case "ranking":
            return [], ["val_ranking_accuracy"]
        case "embedding":
            return ["train_centroid_accuracy"], ["val_centroid_accuracy"]
        case "multilabel" | "binary":
            return ["train_accuracy"], scores
    top5 = ["val_top5_accuracy"] if n_classes > 5 else []
    return ["train_accuracy"], (scores if n_classes == 2 else ["val_accuracy", *top5])


def recorded_metrics(spec: JobSpec) -> list[str]:
    """Every metric name this job records (per epoch), in the engine's order."""
    facts = dataset_facts(spec.dataset)
    train, val = _metrics_of_head(head_kind(spec.loss, facts.task), facts.n_classes)
    names = ["train_loss", *train]
    if facts.n_val > 0:
        names += ["val_loss", *val]
    return [*names, "lr"]
