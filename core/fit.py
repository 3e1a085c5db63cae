"""Whether a spec's parts fit together: dataset shape, model input, loss head. Checked at submit time, no torch."""

from dataclasses import dataclass

from core.components import (
    L1,
    BceWithLogits,
    CifarCnn,
    CrossEntropy,
    DatasetSpec,
    Digits,
    Mse,
    SyntheticClassification,
    SyntheticImages,
    SyntheticRegression,
    Task,
    Thermometer,
)
from core.errors import SpecProblem
from core.spec import JobSpec

CIFAR_SHAPE = (3, 32, 32)


@dataclass(frozen=True)
class DatasetFacts:
    """What the engine and the fit check need to know about a dataset before loading it."""

    task: Task
    input_shape: tuple[int, ...]
    n_samples: int
    n_classes: int = 0  # 0 for regression

    @property
    def n_targets(self) -> int:
        """Regression targets per sample (classification datasets have one label)."""
        return 1


def dataset_facts(dataset: DatasetSpec) -> DatasetFacts:
    """The shape and task of a dataset, from its spec alone."""
    match dataset:
        case Thermometer():
            return DatasetFacts("regression", (1,), 11)
        case Digits():
            return DatasetFacts("classification", (1, 8, 8), 1797, n_classes=10)
        case SyntheticRegression():
            return DatasetFacts("regression", (dataset.n_features,), dataset.n_samples)
        case SyntheticClassification():
            return DatasetFacts("classification", (dataset.n_features,), dataset.n_samples, dataset.n_classes)
        case SyntheticImages():
            return DatasetFacts("image_classification", CIFAR_SHAPE, dataset.n_samples, dataset.n_classes)


def head_size(spec: JobSpec) -> int:
    """How many outputs per sample the model's head gives for this dataset and loss."""
    facts = dataset_facts(spec.dataset)
    if isinstance(spec.loss, BceWithLogits) or facts.task == "regression":
        return 1
    return facts.n_classes


def _describe(facts: DatasetFacts, name: str) -> str:
    if facts.task == "regression":
        return f"dataset '{name}' is a regression"
    return f"dataset '{name}' has {facts.n_classes} classes"


def fit_problems(spec: JobSpec) -> list[SpecProblem]:
    """Every reason this spec's dataset, model and loss cannot train together (empty when they fit)."""
    facts = dataset_facts(spec.dataset)
    problems: list[SpecProblem] = []
    ds = spec.dataset.name
    if isinstance(spec.model, CifarCnn) and facts.input_shape != CIFAR_SHAPE:
        shape = "x".join(map(str, facts.input_shape))
        problems.append(
            SpecProblem(
                ("model",),
                f"model 'cifar_cnn' needs 3x32x32 images, but dataset '{ds}' gives {shape}: "
                "use 'synthetic_images', or model 'mlp' or 'linear'",
            )
        )
    loss = spec.loss
    if isinstance(loss, Mse | L1) and facts.task != "regression":
        problems.append(
            SpecProblem(
                ("loss",),
                f"loss '{loss.name}' needs a real-valued target, but {_describe(facts, ds)}: "
                "use 'cross_entropy', or a regression dataset",
            )
        )
    if isinstance(loss, CrossEntropy) and facts.task == "regression":
        problems.append(
            SpecProblem(
                ("loss",),
                f"loss 'cross_entropy' needs class labels, but {_describe(facts, ds)}: use 'mse' or 'l1'",
            )
        )
    if isinstance(loss, BceWithLogits) and facts.n_classes != 2:
        gives = "a real-valued target" if facts.task == "regression" else f"{facts.n_classes}"
        problems.append(
            SpecProblem(
                ("loss",),
                f"loss 'bce_with_logits' needs one output per sample, but model '{spec.model.name}' on dataset "
                f"'{ds}' gives {gives}: use 'cross_entropy' or a binary dataset",
            )
        )
    n_val = round(facts.n_samples * spec.dataset.val_fraction)
    if facts.n_samples - n_val < 2:
        problems.append(SpecProblem(("dataset", "val_fraction"), "val_fraction leaves fewer than 2 training samples"))
    return problems
