"""The `cmaes` sampler: CMA-ES over a sweep's numeric ranges, rebuilt from SQL at every ask.

Optuna's CmaEsSampler keeps its optimizer pickled in the study's storage; a sweep keeps no Optuna storage and nothing
here is ever pickled. Instead the optimizer (the `cmaes` library's CMA, which Optuna wraps) is replayed: trials in
number order make up the generations, a generation ends when `population_size` of its trials are complete, and each
ended generation is told to a fresh optimizer. `tell` uses no randomness, so the replay is exact.

The rule that keeps the replay honest: a trial is asked only while its generation still has room, that is while its
complete and running trials number fewer than the population. A trial is then sampled from the state its
generation was sampled from, and the replay, which sees the same trials in the same order, puts it in the same
generation. Failed and pruned trials hold no value: they leave their place to a later trial of the same generation.

Ranges are searched in [0, 1] per key (log ranges in log space), integers rounded after; choices are drawn at random
(seeded by the sweep's seed and the trial's number), as Optuna's sampler does for categorical keys.
"""

import math
import random
from typing import Any

import numpy as np
from cmaes import CMA

from core.sweeps.space import Choice, Const, IntRange, LogUniform, Range, SweepSpec, numeric_ranges
from core.sweeps.study import PastTrial

# Optuna's default for CmaEsSampler: a sixth of the (here unit) width, so the start covers the range at 3 sigma.
INITIAL_SIGMA = 1 / 6


def _is_log(param: Range) -> bool:
    return isinstance(param, LogUniform) or (isinstance(param, IntRange) and param.log)


def _to_unit(param: Range, value: float) -> float:
    """A value as the optimizer sees it: its place in [0, 1] (log ranges by their logs)."""
    low, high, v = float(param.low), float(param.high), float(value)
    if _is_log(param):
        low, high, v = math.log(low), math.log(high), math.log(v)
    return 0.5 if high == low else min(1.0, max(0.0, (v - low) / (high - low)))


def _from_unit(param: Range, x: float) -> float | int:
    """The value at place x of the range (rounded for integers, clipped to the bounds)."""
    low, high = float(param.low), float(param.high)
    log = _is_log(param)
    start, end = (math.log(low), math.log(high)) if log else (low, high)
    value = start + x * (end - start)
    value = math.exp(value) if log else value
    if isinstance(param, IntRange):
        return min(param.high, max(param.low, round(value)))
    return min(high, max(low, value))


def _optimizer(dims: int, seed: int) -> CMA:
    return CMA(mean=np.full(dims, 0.5), sigma=INITIAL_SIGMA, bounds=np.tile([0.0, 1.0], (dims, 1)), seed=seed)


def _replay(spec: SweepSpec, past: list[PastTrial], seed: int) -> tuple[CMA, list[PastTrial]]:
    """The optimizer with every ended generation told, and the trials of the generation still open."""
    keys = numeric_ranges(spec.space)
    optimizer = _optimizer(len(keys), seed)
    sign = -1.0 if spec.objective.mode == "max" else 1.0  # CMA-ES minimizes
    members: list[PastTrial] = []
    for trial in sorted(past, key=lambda t: t.number):
        if any(key not in trial.params for key in keys):
            continue  # made under a different space: not one of this search's points
        members.append(trial)
        complete = [t for t in members if t.outcome == "complete" and t.value is not None]
        if len(complete) == optimizer.population_size:
            optimizer.tell(
                [
                    (np.array([_to_unit(p, t.params[k]) for k, p in keys.items()]), sign * float(t.value or 0.0))
                    for t in complete
                ]
            )
            members = []
    return optimizer, members


def cmaes_ask(spec: SweepSpec, past: list[PastTrial], number: int) -> dict[str, Any] | None:
    """Trial `number`'s values by path, or None while its generation is full of complete and running trials (the
    sweep then waits for one to end)."""
    seed = (spec.seed * 1_000_003 + number) % 2**32  # the same history and number ask the same values
    optimizer, members = _replay(spec, past, seed)
    taken = sum(1 for t in members if t.outcome == "active" or (t.outcome == "complete" and t.value is not None))
    if taken >= optimizer.population_size:
        return None
    x = optimizer.ask()
    rng = random.Random(seed)
    place = {key: i for i, key in enumerate(numeric_ranges(spec.space))}
    values: dict[str, Any] = {}
    for key, param in spec.space.items():
        if isinstance(param, Const):
            values[key] = param.value
        elif isinstance(param, Choice):
            values[key] = param.values[rng.randrange(len(param.values))]
        else:
            values[key] = _from_unit(param, float(x[place[key]]))
    return values
