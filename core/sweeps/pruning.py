"""Pruning in step with the epochs: at each epoch's end a trial stores its objective and reads every report of its
sweep in one transaction, and Optuna's own pruner judges it on a study rebuilt from those reports, before the next
epoch starts. The rebuilt study holds what an in-process study would at that moment: each trial's intermediate
values, its state, and (for successive halving) the rungs it completed, which Optuna keeps as system attributes and
which follow from the values at the rung epochs."""

import math
from collections.abc import Sequence

import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.pruners import BasePruner, MedianPruner, SuccessiveHalvingPruner
from optuna.trial import FrozenTrial, TrialState, create_trial

from core.repository.sweeps import Row
from core.sweeps.space import SweepSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)  # a study per epoch report: Optuna's "study created" is noise
# Successive halving with rungs at 1, 3, 9, 27... epochs: a third of the trials go on at each rung.
ASHA_MIN_RESOURCE = 1
ASHA_REDUCTION = 3
MEDIAN_STARTUP = 5  # Optuna's default: the median pruner judges once five trials have completed
# Every trial gets a placeholder parameter: the pruners read values and states only, never parameters.
_PLACEHOLDER: dict[str, BaseDistribution] = {"_": FloatDistribution(0.0, 1.0)}


def make_pruner(spec: SweepSpec) -> BasePruner | None:
    """The sweep's Optuna pruner, or None when it prunes nothing."""
    if spec.pruner == "median":
        return MedianPruner(n_startup_trials=MEDIAN_STARTUP)
    if spec.pruner == "asha":
        return SuccessiveHalvingPruner(min_resource=ASHA_MIN_RESOURCE, reduction_factor=ASHA_REDUCTION)
    return None


def _rung_attrs(values: dict[int, float], below: float) -> dict[str, float]:
    """The rungs a trial completed at epochs below `below`, as SuccessiveHalvingPruner records them."""
    attrs: dict[str, float] = {}
    rung = 0
    while (step := ASHA_MIN_RESOURCE * ASHA_REDUCTION**rung) < below and step in values:
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


def _trial(rows: list[Row], *, at: int | None) -> FrozenTrial:
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
        system_attrs=_rung_attrs(values, below),
    )


def _is_rung(epoch: int) -> bool:
    step = ASHA_MIN_RESOURCE
    while step < epoch:
        step *= ASHA_REDUCTION
    return step == epoch


def _surely_not(spec: SweepSpec, rows: Sequence[Row], epoch: int) -> bool:
    """Cases where Optuna's pruner answers False without looking further, decided without building a study: between
    two rungs of successive halving (it returns before any other check there), and before the median pruner's
    startup trials have completed."""
    if spec.pruner == "asha":
        return not _is_rung(epoch)
    complete = {r.job_id for r in rows if r.status == "succeeded" and r.reason != "pruned"}
    return spec.pruner == "median" and len(complete) < MEDIAN_STARTUP


def should_prune(spec: SweepSpec, rows: Sequence[Row], *, job_id: str, epoch: int) -> bool:
    """Whether the pruner stops this trial after this epoch, judging its report against the sweep's reports."""
    pruner = make_pruner(spec)
    if pruner is None or _surely_not(spec, rows, epoch):
        return False
    study = optuna.create_study(direction="maximize" if spec.objective.mode == "max" else "minimize", pruner=pruner)
    by_job: dict[str, list[Row]] = {}
    for row in rows:
        by_job.setdefault(row.job_id, []).append(row)
    mine = None
    for trial_job, trial_rows in by_job.items():
        study.add_trial(_trial(trial_rows, at=epoch if trial_job == job_id else None))
        if trial_job == job_id:
            mine = study.trials[-1]
    assert mine is not None, "the judged trial's report is among the rows"
    # Optuna's pruner writes the rung it completes into the running trial, in this throwaway in-memory study.
    return bool(pruner.prune(study, mine))
