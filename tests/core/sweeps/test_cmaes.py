"""The cmaes sampler, replayed from the trials as SQL holds them: it searches, it waits when its generation is full,
and the same history asks the same values."""

import math
from typing import Any

from core.sweeps.cmaes_search import cmaes_ask
from core.sweeps.space import SweepSpec
from core.sweeps.study import PastTrial, TrialOutcome

OPTIMUM = {"optimizer.lr": 0.02, "optimizer.momentum": 0.3}


def sweep(**over: Any) -> SweepSpec:
    body: dict[str, Any] = {
        "base": {"dataset": "digits", "model": "mlp", "loss": "cross_entropy", "optimizer": "sgd", "epochs": 3},
        "space": {
            "optimizer.lr": {"type": "log_uniform", "low": 1e-4, "high": 1.0},
            "optimizer.momentum": {"type": "uniform", "low": 0.0, "high": 0.99},
        },
        "objective": {"metric": "val_loss", "mode": "min"},
        "sampler": "cmaes",
        "seed": 3,
    }
    return SweepSpec.model_validate(body | over)


def loss(params: dict[str, Any]) -> float:
    """A bowl with its bottom at OPTIMUM (the learning rate measured in decades, as the space searches it)."""
    return (math.log10(params["optimizer.lr"] / OPTIMUM["optimizer.lr"])) ** 2 + (
        params["optimizer.momentum"] - OPTIMUM["optimizer.momentum"]
    ) ** 2


def run(spec: SweepSpec, trials: int) -> list[PastTrial]:
    """Trials one at a time, each asked from the replayed history, then told its loss."""
    past: list[PastTrial] = []
    for number in range(trials):
        params = cmaes_ask(spec, past, number)
        assert params is not None  # one at a time, a generation always has room
        past.append(PastTrial(number, params, "complete", loss(params)))
    return past


def test_the_search_closes_in_on_the_optimum() -> None:
    past = run(sweep(), 60)
    first, last = past[:6], past[-6:]  # a generation of 2-D CMA-ES is 4 + floor(3 ln 2) = 6 trials
    assert min(loss(t.params) for t in last) < 0.01
    assert sum(t.value or 0 for t in last) < sum(t.value or 0 for t in first) / 20
    for t in past:
        assert 1e-4 <= t.params["optimizer.lr"] <= 1.0
        assert 0.0 <= t.params["optimizer.momentum"] <= 0.99


def test_the_same_history_asks_the_same_values_and_a_new_seed_others() -> None:
    past = run(sweep(), 14)
    assert cmaes_ask(sweep(), past, 14) == cmaes_ask(sweep(), list(reversed(past)), 14)
    assert run(sweep(), 14) == past
    assert cmaes_ask(sweep(seed=4), past, 14) != cmaes_ask(sweep(), past, 14)


def outcome_run(outcomes: list[TrialOutcome]) -> list[PastTrial]:
    params = {"optimizer.lr": 0.01, "optimizer.momentum": 0.5}
    return [PastTrial(n, params, o, 1.0 if o == "complete" else None) for n, o in enumerate(outcomes)]


def test_a_full_generation_waits_and_a_failed_trial_leaves_its_place() -> None:
    spec = sweep()
    assert cmaes_ask(spec, outcome_run(["complete"] * 3 + ["active"] * 3), 6) is None  # 6 taken of 6: wait
    assert cmaes_ask(spec, outcome_run(["complete"] * 3 + ["active", "active", "failed"]), 6) is not None
    assert cmaes_ask(spec, outcome_run(["complete"] * 3 + ["active", "active", "pruned"]), 6) is not None
    assert cmaes_ask(spec, outcome_run(["complete"] * 6 + ["active"]), 7) is not None  # a new generation


def test_integers_logs_choices_and_constants_keep_their_kinds() -> None:
    spec = sweep(
        space={
            "epochs": {"type": "int", "low": 2, "high": 40, "log": True},
            "batch_size": {"type": "int", "low": 8, "high": 64},
            "optimizer.name": {"type": "choice", "values": ["sgd", "adam", "rmsprop"]},
            "model.hidden": {"type": "const", "value": [32]},
        }
    )
    seen = [cmaes_ask(spec, [], n) for n in range(30)]
    assert all(p is not None for p in seen)
    for params in seen:
        assert params is not None
        assert isinstance(params["epochs"], int) and 2 <= params["epochs"] <= 40
        assert isinstance(params["batch_size"], int) and 8 <= params["batch_size"] <= 64
        assert params["model.hidden"] == [32]
    assert {p["optimizer.name"] for p in seen if p is not None} == {"sgd", "adam", "rmsprop"}
