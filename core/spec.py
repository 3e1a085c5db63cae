"""The job spec: what a client POSTs to /jobs, validated strictly before anything is stored."""

import difflib
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from core.components import (
    COMPONENTS,
    PLURAL,
    DatasetSpec,
    LossSpec,
    ModelSpec,
    OptimizerSpec,
    SchedulerSpec,
    component_name,
)


def _name_table(kind: str) -> dict[str, str]:
    """Every accepted spelling of a component name (snake_case, alias, any case) -> its registry name."""
    table: dict[str, str] = {}
    for cls in COMPONENTS[kind]:
        canonical = component_name(cls)
        for spelling in (canonical, *cls.aliases):
            table[spelling] = canonical
            table[spelling.lower()] = canonical
    return table


def _normalize_name(kind: str) -> Callable[[Any], Any]:
    """A before-validator that maps aliases to the registry name and refuses unknown names with close matches."""
    table = _name_table(kind)
    canonical = sorted(set(table.values()))

    def normalize(value: Any) -> Any:
        if isinstance(value, str):  # a bare name is shorthand for {"name": ...} with defaults
            value = {"name": value}
        if not isinstance(value, dict):
            raise PydanticCustomError("component_type", f"{kind} must be an object with a 'name'")
        name = value.get("name")
        if not isinstance(name, str):
            raise PydanticCustomError(
                "component_name_missing", f"{kind} needs a 'name', one of: {', '.join(canonical)}"
            )
        resolved = table.get(name) or table.get(name.lower())
        if resolved is None:
            close = difflib.get_close_matches(name.lower(), list(table), n=3, cutoff=0.6)
            suggestion = sorted({table[c] for c in close})
            hint = f"did you mean {' or '.join(repr(s) for s in suggestion)}? " if suggestion else ""
            raise PydanticCustomError(
                "unknown_component",
                f"unknown {kind} '{name}': {hint}known {PLURAL[kind]}: {', '.join(canonical)}",
            )
        return {**value, "name": resolved}

    return normalize


Dataset = Annotated[DatasetSpec, Field(discriminator="name"), BeforeValidator(_normalize_name("dataset"))]
Model = Annotated[ModelSpec, Field(discriminator="name"), BeforeValidator(_normalize_name("model"))]
Loss = Annotated[LossSpec, Field(discriminator="name"), BeforeValidator(_normalize_name("loss"))]
Optimizer = Annotated[OptimizerSpec, Field(discriminator="name"), BeforeValidator(_normalize_name("optimizer"))]
Scheduler = Annotated[SchedulerSpec, Field(discriminator="name"), BeforeValidator(_normalize_name("scheduler"))]

MAX_EPOCHS = 100_000


class JobSpec(BaseModel):
    """A training job: dataset, model, loss, optimizer, optional scheduler and the loop's hyperparameters."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "thermometer-linear-sgd",
                    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
                    "model": {"name": "linear"},
                    "loss": {"name": "mse"},
                    "optimizer": {"name": "sgd", "lr": 0.01},
                    "epochs": 5000,
                    "batch_size": None,
                }
            ]
        },
    )

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A label for people; defaults to dataset-model-optimizer.",
    )
    dataset: Dataset
    model: Model
    loss: Loss
    optimizer: Optimizer
    scheduler: Scheduler | None = None
    epochs: int = Field(default=10, ge=1, le=MAX_EPOCHS)
    batch_size: int | None = Field(default=64, ge=1, le=1_000_000, description="Samples per step; null: full batch.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto: CUDA when present, else CPU.")
    max_restarts: int = Field(
        default=3, ge=0, le=20, description="How often a job whose worker was lost is started again before it fails."
    )
    max_runtime_seconds: int | None = Field(
        default=None, ge=1, description="Running time after which the job checkpoints and fails (timed_out)."
    )

    def display_name(self) -> str:
        """The job's name, or one made from its components."""
        return self.name or f"{self.dataset.name}-{self.model.name}-{self.optimizer.name}"
