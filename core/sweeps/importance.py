"""Which of a sweep's keys decided its objective: Optuna's PED-ANOVA importance on the complete trials.

PED-ANOVA (Optuna's default evaluator) needs only numpy; fANOVA would need scikit-learn, which only the worker
image carries. It runs here, in core, because the API's picture of a sweep asks for it and service/ imports no
numpy (the import rule); Optuna is already loaded in the API by the sweep controller."""

import warnings

from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

from core.sweeps.space import SweepSpec
from core.sweeps.study import PastTrial, distributions, rebuild

MIN_TRIALS = 2  # one trial says nothing about which key mattered


def param_importances(spec: SweepSpec, past: list[PastTrial]) -> list[tuple[str, float]] | None:
    """Each sampled key's share of the importance (summing to 1), most important first; None below MIN_TRIALS
    complete trials."""
    complete = [t for t in past if t.outcome == "complete" and t.value is not None]
    keys = list(distributions(spec))
    if len(complete) < MIN_TRIALS or not keys:
        return None
    study = rebuild(spec, complete)
    with warnings.catch_warnings():
        # "too few trials" and "quantiles select the same trials" warnings: the picture says how many trials it used
        warnings.simplefilter("ignore")
        found = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator(), params=keys)
    return sorted(((key, float(share)) for key, share in found.items()), key=lambda pair: (-pair[1], pair[0]))
