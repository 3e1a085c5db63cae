"""The component catalog as typed, bounded parameter models: datasets, models, losses, optimizers, schedulers.

Each class is one component: its `name` literal is the registry key, its fields are the only parameters a spec may
set, its docstring is the one-line description the catalog shows, and its `tasks` are the tasks it suits. The worker
maps the same classes to builders, so the catalog and the engine cannot disagree.
"""

from core.components.base import (
    ALL_TASKS,
    CLASSES,
    REGRESSION,
    Component,
    Inputs,
    Reduction,
    Task,
    component_name,
)
from core.components.classification import (
    CLASSIFICATION_LOSSES,
    Bce,
    BceWithLogits,
    CrossEntropy,
    Focal,
    HingeEmbedding,
    KlDiv,
    MultilabelMargin,
    MultilabelSoftMargin,
    MultiMargin,
    Nll,
    SoftMargin,
)
from core.components.datasets import (
    DATASETS,
    BreastCancer,
    Cifar10,
    DatasetSpec,
    Diabetes,
    Digits,
    FashionMnist,
    Iris,
    Mnist,
    SyntheticClassification,
    SyntheticCounts,
    SyntheticImages,
    SyntheticMultilabel,
    SyntheticRegression,
    SyntheticTokens,
    Thermometer,
    TorchvisionDataset,
    Wine,
)
from core.components.losses import (
    L1,
    PAIR_LOSSES,
    REGRESSION_LOSSES,
    CosineEmbedding,
    GaussianNll,
    Huber,
    MarginRanking,
    Mse,
    PoissonNll,
    Rmse,
    SmoothL1,
    Sse,
    TripletMargin,
)
from core.components.models import (
    MODELS,
    CifarCnn,
    EmbeddingBag,
    LeNet,
    Linear,
    Logistic,
    Mlp,
    ModelSpec,
    ResNet18,
)
from core.components.optimizers import (
    OPTIMIZERS,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Asgd,
    Lbfgs,
    NAdam,
    OptimizerSpec,
    RAdam,
    RmsProp,
    Rprop,
    Sgd,
    SparseAdam,
)
from core.components.schedulers import (
    SCHEDULERS,
    CosineLr,
    CosineWarmRestarts,
    ExponentialLr,
    LinearWarmup,
    MultiStepLr,
    OneCycle,
    ReduceOnPlateau,
    SchedulerSpec,
    StepLr,
)
from core.components.upload import Upload

LossSpec = (
    L1
    | Mse
    | Rmse
    | Sse
    | SmoothL1
    | Huber
    | PoissonNll
    | GaussianNll
    | CrossEntropy
    | Nll
    | KlDiv
    | MultiMargin
    | Bce
    | BceWithLogits
    | HingeEmbedding
    | SoftMargin
    | MultilabelMargin
    | MultilabelSoftMargin
    | Focal
    | MarginRanking
    | CosineEmbedding
    | TripletMargin
)

COMPONENTS: dict[str, tuple[type[Component], ...]] = {
    "dataset": DATASETS,
    "model": MODELS,
    "loss": (*REGRESSION_LOSSES, *CLASSIFICATION_LOSSES, *PAIR_LOSSES),
    "optimizer": OPTIMIZERS,
    "scheduler": SCHEDULERS,
}

PLURAL = {
    "dataset": "datasets",
    "model": "models",
    "loss": "losses",
    "optimizer": "optimizers",
    "scheduler": "schedulers",
}

__all__ = [
    "ALL_TASKS",
    "CLASSES",
    "COMPONENTS",
    "L1",
    "PLURAL",
    "REGRESSION",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Asgd",
    "Bce",
    "BceWithLogits",
    "BreastCancer",
    "Cifar10",
    "CifarCnn",
    "Component",
    "CosineEmbedding",
    "CosineLr",
    "CosineWarmRestarts",
    "CrossEntropy",
    "DatasetSpec",
    "Diabetes",
    "Digits",
    "EmbeddingBag",
    "ExponentialLr",
    "FashionMnist",
    "Focal",
    "GaussianNll",
    "HingeEmbedding",
    "Huber",
    "Inputs",
    "Iris",
    "KlDiv",
    "Lbfgs",
    "LeNet",
    "Linear",
    "LinearWarmup",
    "Logistic",
    "LossSpec",
    "MarginRanking",
    "Mlp",
    "Mnist",
    "ModelSpec",
    "Mse",
    "MultiMargin",
    "MultiStepLr",
    "MultilabelMargin",
    "MultilabelSoftMargin",
    "NAdam",
    "Nll",
    "OneCycle",
    "OptimizerSpec",
    "PoissonNll",
    "RAdam",
    "ReduceOnPlateau",
    "Reduction",
    "ResNet18",
    "RmsProp",
    "Rmse",
    "Rprop",
    "SchedulerSpec",
    "Sgd",
    "SmoothL1",
    "SoftMargin",
    "SparseAdam",
    "Sse",
    "StepLr",
    "SyntheticClassification",
    "SyntheticCounts",
    "SyntheticImages",
    "SyntheticMultilabel",
    "SyntheticRegression",
    "SyntheticTokens",
    "Task",
    "Thermometer",
    "TorchvisionDataset",
    "TripletMargin",
    "Upload",
    "Wine",
    "component_name",
]
