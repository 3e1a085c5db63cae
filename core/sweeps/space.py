"""A sweep's request: the base job, the space of values to search (keyed by dotted paths into the job spec), the
objective, the sampler and the budget. Pure pydantic (no torch, no Optuna): the API validates it, the controller
samples from it."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from core.spec import JobSpec

MAX_PARAMS = 16  # keys of one space: a search over more is not one a few dozen trials can cover
MAX_CHOICES = 64
MAX_TRIALS = 1000
MAX_CONCURRENT = 64
Sampler = Literal["tpe", "random", "grid", "cmaes"]
Pruner = Literal["none", "median", "asha", "hyperband"]
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


class Uniform(BaseModel):
    """A float drawn evenly from [low, high]."""

    model_config = _STRICT
    type: Literal["uniform"]
    low: float = Field(ge=-1e12, le=1e12)
    high: float = Field(ge=-1e12, le=1e12)

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class LogUniform(BaseModel):
    """A float drawn evenly in log space from [low, high]; the bounds are the values themselves, not exponents."""

    model_config = _STRICT
    type: Literal["log_uniform"]
    low: float = Field(gt=0, le=1e12, description="Above 0: the log of 0 or less does not exist.")
    high: float = Field(gt=0, le=1e12)

    @model_validator(mode="after")
    def _ordered(self) -> "LogUniform":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class IntRange(BaseModel):
    """An integer from [low, high], both included; evenly in log space when `log` (then low is at least 1)."""

    model_config = _STRICT
    type: Literal["int"]
    low: int = Field(ge=-(10**9), le=10**9)
    high: int = Field(ge=-(10**9), le=10**9)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> "IntRange":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        if self.log and self.low < 1:
            raise ValueError(f"a log range needs low of at least 1, not {self.low}")
        return self


class Choice(BaseModel):
    """One of the listed values (any JSON: numbers, strings, lists, objects)."""

    model_config = _STRICT
    type: Literal["choice"]
    values: list[JsonValue] = Field(min_length=1, max_length=MAX_CHOICES)


class Const(BaseModel):
    """The same value in every trial."""

    model_config = _STRICT
    type: Literal["const"]
    value: JsonValue


Param = Annotated[Uniform | LogUniform | IntRange | Choice | Const, Field(discriminator="type")]


class Objective(BaseModel):
    """The metric the sweep optimizes, as the job records it, and which way is better."""

    model_config = _STRICT
    metric: str = Field(default="val_loss", min_length=1, max_length=100)
    mode: Literal["min", "max"] = "min"


class SweepSpec(BaseModel):
    """A hyperparameter search: trials are ordinary jobs, the base spec with the sampled values put in."""

    model_config = _STRICT
    name: str = Field(default="sweep", min_length=1, max_length=150)
    base: JobSpec
    space: dict[Annotated[str, Field(min_length=1, max_length=200)], Param] = Field(
        min_length=1, max_length=MAX_PARAMS, description="Dotted paths into the job spec, e.g. optimizer.lr."
    )
    objective: Objective = Objective()
    sampler: Sampler = "tpe"
    pruner: Pruner = "none"
    max_trials: int = Field(default=20, ge=1, le=MAX_TRIALS)
    max_concurrent: int = Field(default=1, ge=1, le=MAX_CONCURRENT)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


def grid_points(space: dict[str, Param]) -> int:
    """How many distinct points a space of choices and constants holds."""
    n = 1
    for param in space.values():
        n *= len(param.values) if isinstance(param, Choice) else 1
    return n


Range = Uniform | LogUniform | IntRange


def numeric_ranges(space: dict[str, Param]) -> dict[str, Range]:
    """The keys drawn from a numeric range (not choices or constants), in the space's order."""
    return {key: p for key, p in space.items() if isinstance(p, Uniform | LogUniform | IntRange)}


def single_point(param: Param) -> bool:
    """Whether this parameter can take only one value."""
    if isinstance(param, Const):
        return True
    if isinstance(param, Choice):
        return len(param.values) == 1
    return param.low == param.high


def corners(space: dict[str, Param]) -> list[dict[str, Any]]:
    """The points whose specs must all be valid before a trial runs: every key at its low end, every key at its high
    end, and each value of each choice (the other keys at their low end)."""
    low = {key: _end(p, 0) for key, p in space.items()}
    high = {key: _end(p, -1) for key, p in space.items()}
    points = [low, high]
    for key, param in space.items():
        if isinstance(param, Choice):
            points += [{**low, key: value} for value in param.values[1:-1]]
    return points


def _end(param: Param, end: int) -> Any:
    if isinstance(param, Const):
        return param.value
    if isinstance(param, Choice):
        return param.values[end]
    return param.low if end == 0 else param.high


def stored(spec: SweepSpec) -> dict[str, Any]:
    """The sweep as SQL keeps it: every field resolved, but the base job as sent (a trial's values then go into what
    the client wrote, so a component named by a choice gets its own defaults, not the base's component's)."""
    return spec.model_dump(mode="json") | {"base": spec.base.model_dump(mode="json", exclude_unset=True)}
