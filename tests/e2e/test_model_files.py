"""A trained model out of the real stack: a job succeeds, its model goes from exporting to ready, the store holds its
files and the ONNX file, run by ONNX Runtime, reproduces the job's recorded validation accuracy exactly."""

import time
from pathlib import Path

import onnxruntime
import pytest
import torch
from sqlalchemy.orm import Session

from core import repository
from core.db import make_engine
from core.model_card import ONNX_INPUT, ModelCard
from core.spec import JobSpec
from tests.e2e.conftest import Stack
from worker.data import load_data

pytestmark = pytest.mark.e2e

DIGITS = {
    "name": "digits-model",
    "dataset": {"name": "digits", "val_fraction": 0.2},
    "model": {"name": "mlp", "hidden": [32]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 1e-2},
    "epochs": 3,
    "early_stopping": {"metric": "val_loss", "patience": 3},
}


def model_states(stack: Stack, job_id: str, timeout: float = 60.0) -> list[tuple[str, str | None]]:
    """(status, model_status) as the database shows them, each change once, until the model is no longer exporting."""
    engine = make_engine(stack.env["GRADYARD_DATABASE_URL"])
    seen: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                job = repository.get_job(session, job_id=job_id)
                state = (job.status, job.model_status)
            if not seen or seen[-1] != state:
                seen.append(state)
            if state[0] != "queued" and state[0] != "running" and state[1] != "exporting":
                return seen
            time.sleep(0.01)
    finally:
        engine.dispose()
    raise AssertionError(f"job {job_id}: still {seen[-1]} after {timeout}s\n{stack.log_tail()}")


def test_a_succeeded_job_leaves_its_model_files(stack: Stack) -> None:
    job_id = stack.submit(DIGITS)
    states = model_states(stack, job_id)
    # The model is exported after the job is marked succeeded (never before), and ends ready.
    assert states[-1] == ("succeeded", "ready"), states
    assert all(model is None for status, model in states if status != "succeeded"), states
    assert {model for status, model in states if status == "succeeded"} <= {"exporting", "ready"}, states
    job = stack.job(job_id)
    folder = Path(stack.env["GRADYARD_ARTIFACT_DIR"]) / "models" / job_id
    names = {"model.json", "environment.json", "final.safetensors", "final.onnx", "best.safetensors", "best.onnx"}
    assert {path.name for path in folder.iterdir()} == names
    assert not (Path(stack.env["GRADYARD_ARTIFACT_DIR"]) / "jobs" / job_id).exists()  # its checkpoints went
    card = ModelCard.model_validate_json((folder / "model.json").read_bytes())
    assert card.job_id == job_id and card.classes == [str(i) for i in range(10)] and card.input.shape == [1, 8, 8]
    assert card.weights["final"].epoch == job["progress"]["epoch"] and card.onnx_unavailable is None
    # ONNX Runtime on the validation split gives the accuracy the job recorded for its final weights, exactly.
    spec = JobSpec.model_validate(job["spec"])
    val = load_data(spec.dataset, seed=spec.seed, device=torch.device("cpu")).val
    assert val is not None
    session = onnxruntime.InferenceSession(str(folder / "final.onnx"), providers=["CPUExecutionProvider"])
    predicted = session.run(["prediction"], {ONNX_INPUT: val.x.numpy()})[0]
    accuracy = (torch.from_numpy(predicted) == val.y).float().mean().item()
    assert accuracy == stack.metrics(job_id, names="val_accuracy")["metrics"]["val_accuracy"]["value"][-1]
    engine = make_engine(stack.env["GRADYARD_DATABASE_URL"])
    try:
        with Session(engine) as db:
            held = repository.get_job(db, job_id=job_id).bytes_held
    finally:
        engine.dispose()
    assert held == sum(path.stat().st_size for path in folder.iterdir()) > 0
