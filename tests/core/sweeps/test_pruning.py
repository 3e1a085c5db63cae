"""The pruner's decisions, judged on reports kept in SQL, equal Optuna's own pruner run in-process on the same
reports in the same order: several trials at once, each stopping when told to."""

import random
from collections.abc import Callable

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy.orm import Session

from core import repository
from core.repository import sweeps as sweeps_sql
from core.repository.sweeps import Row
from core.sweeps.pruning import STUDY_NAME, make_pruner, should_prune
from core.sweeps.space import SweepSpec

EPOCHS = 10
Curves = list[list[float]]


def spec(pruner: str, mode: str = "max") -> SweepSpec:
    return SweepSpec.model_validate({
        "base": {"dataset": "iris", "model": "mlp", "loss": "cross_entropy", "optimizer": "sgd"},
        "space": {"optimizer.lr": {"type": "uniform", "low": 0.01, "high": 0.1}},
        "objective": {"metric": "val_accuracy", "mode": mode},
        "pruner": pruner,
    })  # fmt: skip


def curves(seed: int, n: int) -> Curves:
    """Learning curves that rise at random rates, with noise: some clearly worse than others."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        rate, ceiling = rng.uniform(0.05, 0.6), rng.uniform(0.5, 0.98)
        out.append([ceiling * (1 - (1 - rate) ** e) + rng.gauss(0, 0.01) for e in range(1, EPOCHS + 1)])
    return out


def schedule(n: int, concurrent: int) -> list[tuple[int, int]]:
    """(trial, epoch) reports in the order `concurrent` trials at a time make them, round robin."""
    order, live, nxt = [], list(range(min(concurrent, n))), min(concurrent, n)
    progress = dict.fromkeys(range(n), 0)
    while live:
        for t in list(live):
            progress[t] += 1
            order.append((t, progress[t]))
            if progress[t] == EPOCHS:
                live.remove(t)
                if nxt < n:
                    live.append(nxt)
                    nxt += 1
    return order


def optuna_decisions(s: SweepSpec, data: Curves, concurrent: int) -> dict[int, int | None]:
    """Optuna in-process: each trial reports, asks should_prune, and ends pruned or complete."""
    study = optuna.create_study(
        study_name=STUDY_NAME, direction="maximize" if s.objective.mode == "max" else "minimize", pruner=make_pruner(s)
    )
    trials: dict[int, optuna.Trial] = {}
    pruned_at: dict[int, int | None] = {}
    for t, epoch in schedule(len(data), concurrent):
        if t in pruned_at:
            continue
        if t not in trials:  # asked once, at its first report: the study numbers trials as the sweep does
            trials[t] = study.ask()
        trial = trials[t]
        trial.report(data[t][epoch - 1], epoch)
        if trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
            pruned_at[t] = epoch
        elif epoch == EPOCHS:
            study.tell(trial, data[t][-1])
            pruned_at[t] = None
    return pruned_at


Report = Callable[[int, int, float], list[Row]]
End = Callable[[int, bool], None]


def our_decisions(s: SweepSpec, data: Curves, concurrent: int, report: Report, end: End) -> dict[int, int | None]:
    """Ours: each report stored, the rows read back, the trial judged on them."""
    pruned_at: dict[int, int | None] = {}
    for t, epoch in schedule(len(data), concurrent):
        if t in pruned_at:
            continue
        rows = report(t, epoch, data[t][epoch - 1])
        if should_prune(s, rows, job_id=f"job-{t}", epoch=epoch):
            end(t, True)
            pruned_at[t] = epoch
        elif epoch == EPOCHS:
            end(t, False)
            pruned_at[t] = None
    return pruned_at


def in_memory() -> tuple[Report, End]:
    """Rows kept in a list, as the SQL query returns them."""
    reports: dict[tuple[int, int], float] = {}
    states: dict[int, tuple[str, str | None]] = {}

    def rows() -> list[Row]:
        return [
            Row(t, f"job-{t}", *states.get(t, ("running", None)), e, v)  # type: ignore[arg-type]
            for (t, e), v in sorted(reports.items())
        ]

    def report(t: int, epoch: int, value: float) -> list[Row]:
        reports.setdefault((t, epoch), value)
        return rows()

    def end(t: int, pruned: bool) -> None:
        states[t] = ("succeeded", "pruned" if pruned else None)

    return report, end


@pytest.mark.parametrize("pruner", ["asha", "median", "hyperband"])
@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize(("seed", "concurrent"), [(1, 1), (2, 3), (3, 4)])
def test_decisions_equal_optunas_in_process(pruner: str, mode: str, seed: int, concurrent: int) -> None:
    s = spec(pruner, mode)
    data = curves(seed, 12)
    expected = optuna_decisions(s, data, concurrent)
    assert our_decisions(s, data, concurrent, *in_memory()) == expected
    assert any(at is not None for at in expected.values())  # the case prunes something: the test has teeth


@pytest.mark.parametrize("pruner", ["asha", "hyperband"])
def test_decisions_through_sql_equal_optunas(session: Session, pruner: str) -> None:
    s = spec(pruner)
    data = curves(7, 9)
    sweep = sweeps_sql.create_sweep(session, name="s", spec={}, owner_id=None, actor=None)
    ids = {}
    for t in range(len(data)):
        new = repository.NewJob(f"t{t}", {"epochs": EPOCHS}, "h", None, None, "test")
        job = sweeps_sql.add_trial(session, sweep=sweep, new=new, trial=t, params={}, max_active=100)
        assert job is not None
        ids[t] = job.id
        assert repository.claim_job(session, job_id=job.id) == 1
        session.commit()

    def report(t: int, epoch: int, value: float) -> list[Row]:
        rows = sweeps_sql.report_and_read(session, job_id=ids[t], sweep_id=sweep.id, epoch=epoch, value=value)
        return [Row(r.trial, f"job-{r.trial}", r.status, r.reason, r.epoch, r.value) for r in rows]

    def end(t: int, pruned: bool) -> None:
        repository.finish_job(
            session, job_id=ids[t], attempt=1, status="succeeded", reason="pruned" if pruned else None
        )
        session.commit()

    expected = optuna_decisions(s, data, 3)
    assert our_decisions(s, data, 3, report, end) == expected
    assert sum(at is not None for at in expected.values()) >= 3
    again = sweeps_sql.report_and_read(session, job_id=ids[0], sweep_id=sweep.id, epoch=1, value=-5.0)
    assert [r.value for r in again if r.trial == 0 and r.epoch == 1] == [data[0][0]]  # the first report stays
