"""Pruning in step with the epochs: at each epoch's end a trial stores its objective and reads every report of its
sweep in one transaction, and Optuna's own pruner judges it on a study rebuilt from those reports, before the next
epoch starts. The rebuilt study holds what an in-process study would at that moment: each trial's intermediate
values, its state, and (for successive halving) the rungs it completed, which Optuna keeps as system attributes and
which follow from the values at the rung epochs."""

import binascii
import math
from collections.abc import Sequence

import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.pruners import BasePruner, HyperbandPruner, MedianPruner, SuccessiveHalvingPruner
from optuna.trial import FrozenTrial, TrialState, create_trial

from core.repository.sweeps import Row
from core.sweeps.space import Choice, IntRange, SweepSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)  # a study per epoch report: Optuna's "study created" is noise
# Successive halving with rungs at 1, 3, 9, 27... epochs: a third of the trials go on at each rung.
ASHA_MIN_RESOURCE = 1
ASHA_REDUCTION = 3
MEDIAN_STARTUP = 5  # Optuna's default: the median pruner judges once five trials have completed
# Hyperband assigns each trial to a bracket by a hash of its study's name and its number: every rebuilt study (and
# Optuna run in-process, in the tests) carries this name, so a trial stays in its bracket from one epoch to the next.
STUDY_NAME = "gradyard-sweep"
# Every trial gets a placeholder parameter: the pruners read values and states only, never parameters.
_PLACEHOLDER: dict[str, BaseDistribution] = {"_": FloatDistribution(0.0, 1.0)}


def make_pruner(spec: SweepSpec) -> BasePruner | None:
    """The sweep's Optuna pruner, or None when it prunes nothing."""
    if spec.pruner == "median":
        return MedianPruner(n_startup_trials=MEDIAN_STARTUP)
    if spec.pruner == "asha":
        return SuccessiveHalvingPruner(min_resource=ASHA_MIN_RESOURCE, reduction_factor=ASHA_REDUCTION)
    if spec.pruner == "hyperband":
        # The most epochs a trial can run, given up front: Optuna's "auto" would read it from the first complete
        # trial, which a study rebuilt at each report could see differently from one report to the next.
        return HyperbandPruner(
            min_resource=ASHA_MIN_RESOURCE, max_resource=max_epochs(spec), reduction_factor=ASHA_REDUCTION
        )
    return None


def max_epochs(spec: SweepSpec) -> int:
    """The most epochs any trial of the sweep can run (the base's, or the top of an `epochs` range or choice)."""
    param = spec.space.get("epochs")
    if isinstance(param, IntRange):
        return param.high
    if isinstance(param, Choice) and all(isinstance(v, int) for v in param.values):
        return max(int(v) for v in param.values)  # type: ignore[arg-type]
    return spec.base.epochs


def bracket(spec: SweepSpec, number: int) -> int:
    """The Hyperband bracket of trial `number` (0 for the other pruners), as HyperbandPruner computes it: brackets
    get trials in proportion to their budgets, picked by the CRC-32 of the study's name and the trial's number."""
    if spec.pruner != "hyperband":
        return 0
    n_brackets = math.floor(math.log(max_epochs(spec) / ASHA_MIN_RESOURCE, ASHA_REDUCTION)) + 1
    budgets = [
        math.ceil(n_brackets * ASHA_REDUCTION**s / (s + 1)) for s in (n_brackets - 1 - b for b in range(n_brackets))
    ]
    n = binascii.crc32(f"{STUDY_NAME}_{number}".encode()) % sum(budgets)
    for b, budget in enumerate(budgets):
        n -= budget
        if n < 0:
            return b
    raise AssertionError("the budgets sum to the modulus")  # unreachable: n < sum(budgets)


def _rung_attrs(values: dict[int, float], below: float, first: int) -> dict[str, float]:
    """The rungs a trial completed at epochs below `below`, as SuccessiveHalvingPruner records them (its bracket's
    rungs start at reduction**first epochs: Hyperband's bracket b skips the first b rungs)."""
    attrs: dict[str, float] = {}
    rung = 0
    while (step := ASHA_MIN_RESOURCE * ASHA_REDUCTION ** (rung + first)) < below and step in values:
        if math.isnan(values[step]):
            break  # Optuna prunes on a NaN before it records the rung
        attrs[f"completed_rung_{rung}"] = values[step]
        rung += 1
    return attrs


def _state(status: str, reason: str | None) -> TrialState:
    if status in ("queued", "running"):
        return TrialState.RUNNING
    if status == "succeeded":
        return TrialState.PRUNED if reason == "pruned" else TrialState.COMPLETE
    return TrialState.FAIL


def _trial(rows: list[Row], *, at: int | None, first_rung: int) -> FrozenTrial:
    """One trial of the rebuilt study, from its report rows; `at`: the epoch the judged trial reports now (a resumed
    trial's reports past it, from its earlier attempt, are not yet part of its history)."""
    values: dict[int, float] = {
        r.epoch: (math.nan if r.value is None else r.value)
        for r in rows
        if r.epoch is not None and (at is None or r.epoch <= at)
    }
    state = TrialState.RUNNING if at is not None else _state(rows[0].status, rows[0].reason)
    last = values[max(values)] if values else None
    value = (0.0 if last is None or math.isnan(last) else last) if state == TrialState.COMPLETE else None
    below = at if at is not None else math.inf
    return create_trial(
        state=state,
        value=value,
        params={"_": 0.5},
        distributions=_PLACEHOLDER,
        intermediate_values=values,
        system_attrs=_rung_attrs(values, below, first_rung),
    )


def _is_rung(epoch: int, first: int) -> bool:
    step: int = ASHA_MIN_RESOURCE * ASHA_REDUCTION**first
    while step < epoch:
        step *= ASHA_REDUCTION
    return step == epoch


def _surely_not(spec: SweepSpec, rows: Sequence[Row], epoch: int, first_rung: int) -> bool:
    """Cases where Optuna's pruner answers False without looking further, decided without building a study: between
    two rungs of successive halving (it returns before any other check there), and before the median pruner's
    startup trials have completed."""
    if spec.pruner in ("asha", "hyperband"):
        return not _is_rung(epoch, first_rung)
    complete = {r.job_id for r in rows if r.status == "succeeded" and r.reason != "pruned"}
    return spec.pruner == "median" and len(complete) < MEDIAN_STARTUP


def should_prune(spec: SweepSpec, rows: Sequence[Row], *, job_id: str, epoch: int) -> bool:
    """Whether the pruner stops this trial after this epoch, judging its report against the sweep's reports."""
    pruner = make_pruner(spec)
    number = next(row.trial or 0 for row in rows if row.job_id == job_id)
    if pruner is None or _surely_not(spec, rows, epoch, bracket(spec, number)):
        return False
    study = optuna.create_study(
        study_name=STUDY_NAME, direction="maximize" if spec.objective.mode == "max" else "minimize", pruner=pruner
    )
    by_number: dict[int, list[Row]] = {}
    for row in rows:
        by_number.setdefault(row.trial or 0, []).append(row)
    # The study's trial numbers are the sweep's (Hyperband's brackets follow them): a number with no row yet gets a
    # failed placeholder, which no pruner counts.
    for n in range(max(by_number) + 1):
        if n not in by_number:
            study.add_trial(create_trial(state=TrialState.FAIL, params={"_": 0.5}, distributions=_PLACEHOLDER))
            continue
        judged = n == number
        study.add_trial(_trial(by_number[n], at=epoch if judged else None, first_rung=bracket(spec, n)))
    # Optuna's pruner writes the rung it completes into the running trial, in this throwaway in-memory study.
    return bool(pruner.prune(study, study.trials[number]))
