"""The Optuna side of a sweep: its study rebuilt in memory from the trials in SQL, and the next trial's values asked
of it. No Optuna storage: SQL holds every trial (as a job row), so a new controller rebuilds exactly what a dead one
had, and asks the same (the sampler's seed comes from the sweep's seed and the trial's number)."""

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from core.sweeps.space import Choice, Const, IntRange, LogUniform, Param, SweepSpec, Uniform, grid_points

optuna.logging.set_verbosity(optuna.logging.WARNING)  # a sweep's log is its trials' state log, not Optuna's chatter
TrialOutcome = Literal["complete", "pruned", "failed", "active"]


@dataclass(frozen=True)
class PastTrial:
    """One trial as SQL holds it: its number, its values by path, how it stands and its objective value."""

    number: int
    params: dict[str, Any]
    outcome: TrialOutcome
    value: float | None
    reports: dict[int, float] = field(default_factory=dict)  # its objective by epoch, as the pruner saw it


def _distribution(param: Param) -> BaseDistribution | None:
    """Optuna's distribution for a key (a choice by its index, since its values may be any JSON); None for a const."""
    match param:
        case Uniform():
            return FloatDistribution(param.low, param.high)
        case LogUniform():
            return FloatDistribution(param.low, param.high, log=True)
        case IntRange():
            return IntDistribution(param.low, param.high, log=param.log)
        case Choice():
            return CategoricalDistribution(list(range(len(param.values))))
    return None


def distributions(spec: SweepSpec) -> dict[str, BaseDistribution]:
    """The sampled keys' distributions."""
    found = {key: _distribution(param) for key, param in spec.space.items()}
    return {key: d for key, d in found.items() if d is not None}


def _internal(spec: SweepSpec, params: dict[str, Any]) -> dict[str, Any] | None:
    """A trial's values as Optuna sampled them (choices by index); None when they no longer fit the space."""
    inside: dict[str, Any] = {}
    for key, param in spec.space.items():
        if isinstance(param, Const):
            continue
        if key not in params:
            return None
        inside[key] = param.values.index(params[key]) if isinstance(param, Choice) else params[key]
    return inside


def _external(spec: SweepSpec, inside: dict[str, Any]) -> dict[str, Any]:
    """A trial's values by path, as its job spec gets them."""
    values: dict[str, Any] = {}
    for key, param in spec.space.items():
        if isinstance(param, Const):
            values[key] = param.value
        elif isinstance(param, Choice):
            values[key] = param.values[int(inside[key])]
        else:
            values[key] = inside[key]
    return values


def trial_budget(spec: SweepSpec) -> int:
    """How many trials the sweep makes: max_trials, or fewer when a grid has fewer points."""
    return min(spec.max_trials, grid_points(spec.space)) if spec.sampler == "grid" else spec.max_trials


def _sampler(spec: SweepSpec, number: int) -> optuna.samplers.BaseSampler:
    seed = (spec.seed * 1_000_003 + number) % 2**32  # the same history and number ask the same values
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _grid_point(spec: SweepSpec, number: int) -> dict[str, Any]:
    """Trial `number` of a grid: the points in order, each once (the budget stops at the last)."""
    keys = list(spec.space)
    axes = [p.values if isinstance(p, Choice) else [p.value] for p in spec.space.values()]  # type: ignore[union-attr]
    point = next(itertools.islice(itertools.product(*axes), number, None))
    return dict(zip(keys, point, strict=True))


def rebuild(spec: SweepSpec, past: list[PastTrial]) -> optuna.Study:
    """An in-memory study holding every past trial: complete ones with their value, active ones as running."""
    study = optuna.create_study(direction="maximize" if spec.objective.mode == "max" else "minimize")
    dists = distributions(spec)
    states = {
        "complete": TrialState.COMPLETE,
        "pruned": TrialState.PRUNED,
        "failed": TrialState.FAIL,
        "active": TrialState.RUNNING,
    }
    for trial in sorted(past, key=lambda t: t.number):
        inside = _internal(spec, trial.params)
        if inside is None:
            continue
        state = states[trial.outcome] if trial.outcome != "complete" or trial.value is not None else TrialState.FAIL
        value = trial.value if state == TrialState.COMPLETE else None
        study.add_trial(
            create_trial(
                params=inside, distributions=dists, value=value, state=state, intermediate_values=trial.reports
            )
        )
    return study


def ask(spec: SweepSpec, study: optuna.Study, number: int) -> dict[str, Any]:
    """The values of trial `number` by path (the asked trial stays in the study as running)."""
    if spec.sampler == "grid":
        return _grid_point(spec, number)
    study.sampler = _sampler(spec, number)
    trial = study.ask(distributions(spec))
    return _external(spec, trial.params)
