"""What every catalog component shares: strict parsing, the task vocabulary, and reusable bounded fields."""

import sys
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

Task = Literal[
    "regression",
    "count_regression",
    "binary_classification",
    "multiclass_classification",
    "multilabel_classification",
]
Inputs = Literal["features", "images", "tokens"]
Reduction = Literal["mean", "sum"]
Normalize = Literal["none", "standard"]

REGRESSION: tuple[Task, ...] = ("regression", "count_regression")
CLASSES: tuple[Task, ...] = ("binary_classification", "multiclass_classification")
ALL_TASKS: tuple[Task, ...] = (*REGRESSION, *CLASSES, "multilabel_classification")


class Component(BaseModel):
    """A catalog entry: strict (no unknown fields, no coercion of types) and finite (NaN and infinity refused)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    aliases: ClassVar[tuple[str, ...]] = ()
    tasks: ClassVar[tuple[Task, ...]] = ()
    inputs: ClassVar[tuple[Inputs, ...]] = ()
    if TYPE_CHECKING:
        name: str  # each component declares its own `name` literal: its registry name


C = TypeVar("C", bound=Component)


def defined_in(module: str, kind: type[C]) -> tuple[type[C], ...]:
    """The components of this kind a module defines, in the order it defines them (the catalog's and schema's order).

    A class is a component when it declares a `name`; shared bases (BundledDataset, OptimizerComponent) do not.
    """
    found = vars(sys.modules[module]).values()
    return tuple(
        value
        for value in found
        if isinstance(value, type)
        and issubclass(value, kind)
        and value.__module__ == module
        and "name" in value.model_fields
    )


def one_of(classes: tuple[type[Component], ...]) -> Any:
    """The union of these components, for a discriminated field (mypy sees the kind's base class instead)."""
    return Union[classes]  # noqa: UP007  (a runtime tuple of classes needs Union[...], not |)


def component_name(cls: type[Component]) -> str:
    """The registry name of a component class (the value of its `name` literal)."""
    annotation = cls.model_fields["name"].annotation
    return str(annotation.__args__[0])  # type: ignore[union-attr]


def _betas_in_unit(betas: tuple[float, float]) -> tuple[float, float]:
    if not all(0.0 <= beta < 1.0 for beta in betas):
        raise ValueError("betas must each be in [0, 1)")
    return betas


def _pair_of_list(value: Any) -> Any:
    """A JSON array as the tuple a strict pair field takes (a spec read back from SQL carries lists too)."""
    return tuple(value) if isinstance(value, list) else value


Pair = Annotated[tuple[float, float], BeforeValidator(_pair_of_list)]
Betas = Annotated[Pair, AfterValidator(_betas_in_unit)]
PositiveWeight = Annotated[float, Field(ge=0.0, le=1e6)]
ClassWeights = Annotated[
    list[PositiveWeight] | None,
    Field(min_length=1, max_length=100_000, description="One weight per class (or label); null: equal."),
]

ValFraction: Any = Field(default=0.2, ge=0.0, le=0.9, description="Share of samples held out for validation.")
NormalizeField: Any = Field(default="none", description="'standard': scale each feature by training-split statistics.")
SampleCount: Any = Field(default=1000, ge=20, le=1_000_000, description="Number of generated samples.")
FeatureCount: Any = Field(default=8, ge=1, le=4096, description="Number of input features.")
LearningRate: Any = Field(default=1e-3, gt=0.0, le=10.0, description="Learning rate.")
WeightDecay: Any = Field(default=0.0, ge=0.0, le=1.0, description="L2 penalty.")
Eps: Any = Field(default=1e-8, gt=0.0, le=1.0, description="Added for numerical stability.")
ReductionField: Any = Field(default="mean", description="'mean' over samples, or 'sum'.")
