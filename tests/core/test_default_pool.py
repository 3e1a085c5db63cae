"""A job, or a sweep's trial, that names no pool queues in the deployment's default pool; one that names a pool keeps
it (compose sets GRADYARD_DEFAULT_POOL=gpu, and a trial must not wait in a pool no worker joined)."""

from pathlib import Path
from typing import Any

from core.admission.pools import in_default_pool
from core.settings import Settings
from core.spec import JobSpec
from core.sweeps.checks import trial_spec
from core.sweeps.space import SweepSpec

BASE: dict[str, Any] = {"dataset": "iris", "model": "mlp", "loss": "cross_entropy", "optimizer": "sgd"}


def test_a_spec_without_a_pool_takes_the_default_and_a_named_one_stays(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, default_pool="gpu")
    assert in_default_pool(JobSpec.model_validate(BASE), settings).pool == "gpu"
    assert in_default_pool(JobSpec.model_validate(BASE | {"pool": "cpu"}), settings).pool == "cpu"
    assert in_default_pool(JobSpec.model_validate(BASE), Settings(data_dir=tmp_path)).pool == "default"


def test_a_trial_of_a_base_without_a_pool_takes_the_default(tmp_path: Path) -> None:
    sweep = SweepSpec.model_validate(
        {"base": BASE, "space": {"optimizer.lr": {"type": "uniform", "low": 0.01, "high": 0.1}}}
    )
    trial = trial_spec(sweep, {"optimizer.lr": 0.05})
    assert in_default_pool(trial, Settings(data_dir=tmp_path, default_pool="gpu")).pool == "gpu"
