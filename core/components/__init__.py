"""The component catalog as typed, bounded parameter models: datasets, models, losses, optimizers, schedulers.

Each class is one component: its `name` literal is the registry key, its fields are the only parameters a spec may
set, its docstring is the one-line description the catalog shows, and its class variables say what it is (the tasks
it suits, the inputs it takes, and the facts its kind declares). The kind modules derive their tuples and unions from
the classes they define; the worker maps the same classes to builders, so the catalog and the engine cannot disagree.
Every public name of the kind modules is importable from here.
"""

from typing import TYPE_CHECKING

from core.components.base import *  # noqa: F403
from core.components.base import Component, one_of
from core.components.classification import *  # noqa: F403
from core.components.classification import CLASSIFICATION_LOSSES
from core.components.datasets import *  # noqa: F403
from core.components.datasets import DATASETS
from core.components.losses import *  # noqa: F403
from core.components.losses import REGRESSION_LOSSES
from core.components.models import *  # noqa: F403
from core.components.models import MODELS
from core.components.optimizers import *  # noqa: F403
from core.components.optimizers import OPTIMIZERS
from core.components.pairs import *  # noqa: F403
from core.components.pairs import PAIR_LOSSES
from core.components.schedulers import *  # noqa: F403
from core.components.schedulers import SCHEDULERS
from core.components.upload import *  # noqa: F403

LOSSES = (*REGRESSION_LOSSES, *CLASSIFICATION_LOSSES, *PAIR_LOSSES)
if TYPE_CHECKING:
    LossSpec = Component
else:
    LossSpec = one_of(LOSSES)

COMPONENTS: dict[str, tuple[type[Component], ...]] = {
    "dataset": DATASETS,
    "model": MODELS,
    "loss": LOSSES,
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
