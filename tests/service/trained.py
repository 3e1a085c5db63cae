"""Trained models for the API's tests, made as the worker makes them: a torch module with the input normalisation
and the output head inside, exported with torch.onnx.export(dynamo=True), its weights as safetensors, and its
model.json; installed in the store for a job that was submitted through the API and then driven to `succeeded`
through the repository, as a worker drives it. Real ONNX files, real ONNX Runtime sessions.

Three models (exported once per test session; each export costs a few seconds):
- DIGITS: 8x8 grey images -> 10 classes (an MLP; softmax probabilities);
- CHURN: a table row (tenure: number with a fill, plan: category, paperless: boolean) -> yes/no (one logit);
- PRICE: three numbers -> one value in the target's units (regression).
"""

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import torch
from fastapi.testclient import TestClient
from safetensors.torch import save
from torch import nn

from core import repository
from core.db import session_scope
from core.metrics import Point
from core.model_card import (
    FeatureColumn,
    ModelCard,
    ModelInput,
    Normalization,
    OnnxFile,
    Weights,
)
from core.store import MODEL_CARD, get_store, model_filename, model_key

DIGITS_SPEC = {
    "dataset": {"name": "digits", "val_fraction": 0.2, "normalize": "standard"},
    "model": {"name": "mlp", "hidden": [16]},
    "loss": "cross_entropy",
    "optimizer": {"name": "adam", "lr": 1e-3},
    "epochs": 2,
}
CHURN_FEATURES = [
    FeatureColumn(name="tenure", dtype="number", fill=36.0),
    FeatureColumn(name="plan", dtype="category", categories=["basic", "plus", "pro"]),
    FeatureColumn(name="paperless", dtype="boolean"),
]
PRICE_FEATURES = [FeatureColumn(name=name) for name in ("rooms", "area", "age")]


class Graph(nn.Module):
    """Raw inputs in: flattened, standardised, through the layers, read by the head."""

    def __init__(self, layers: nn.Module, head: str, width: int) -> None:
        super().__init__()
        self.layers, self.head = layers, head
        generator = torch.Generator().manual_seed(1)
        self.register_buffer("mean", torch.rand(width, generator=generator) * 4)
        self.register_buffer("scale", torch.rand(width, generator=generator) + 0.5)

    def forward(self, x: torch.Tensor) -> Any:
        """The head's outputs for a batch of raw inputs."""
        out = self.layers((x.flatten(1).float() - self.mean) / self.scale)
        if self.head == "classes":
            return out.argmax(dim=1), torch.softmax(out, dim=1)
        if self.head == "binary":
            p = torch.sigmoid(out[:, 0])
            return (p > 0.5).long(), torch.stack([1 - p, p], dim=1)
        return out * 1000.0 + 50_000.0  # regression: back in the target's units


@dataclass(frozen=True)
class Exported:
    """A model exported once: its torch module (to compute expected outputs), ONNX and safetensors bytes."""

    module: Graph
    onnx: bytes
    safetensors: bytes
    input_shape: list[int]


KINDS: dict[str, tuple[str, list[int], int]] = {"digits": ("classes", [1, 8, 8], 10), "churn": ("binary", [5], 1)}
KINDS["price"] = ("regression", [3], 1)


@functools.cache
def exported(kind: str, hidden: int = 16) -> Exported:
    """The model of this kind (one hidden layer this wide), exported (once per test session)."""
    head, shape, n_out = KINDS[kind]
    width = int(np.prod(shape))
    torch.manual_seed(0)
    layers = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
    module = Graph(layers, head, width).eval()
    outputs = ["prediction", "probabilities"] if head != "regression" else ["prediction"]
    program = torch.onnx.export(
        module,
        (torch.zeros(2, *shape),),
        dynamo=True,
        input_names=["input"],
        output_names=outputs,
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        verbose=False,
    )
    assert program is not None
    onnx = program.model_proto.SerializeToString()
    return Exported(module, onnx, save(dict(module.state_dict())), shape)


def expected(kind: str, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """What torch makes of these encoded inputs: (prediction, probabilities) or (values,)."""
    with torch.no_grad():
        out = exported(kind).module(torch.as_tensor(x, dtype=torch.float32))
    return tuple(o.numpy() for o in out) if isinstance(out, tuple) else (out.numpy(),)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def card(kind: str, job_id: str, *, best: bool = False, onnx: bool = True, hidden: int = 16) -> ModelCard:
    """model.json of this kind of model for a job (best weights too when `best`; no ONNX file unless `onnx`)."""
    model = exported(kind, hidden)
    head, shape, n_out = KINDS[kind]
    onnx_file = OnnxFile(sha256=_sha(model.onnx), bytes=len(model.onnx), opset=18, max_abs_diff=2.4e-7, checked_rows=64)
    final = Weights(
        sha256=_sha(model.safetensors), bytes=len(model.safetensors), epoch=2, onnx=onnx_file if onnx else None
    )
    weights = {"final": final}
    if best:
        weights["best"] = final.model_copy(update={"epoch": 1, "metric": "val_loss", "value": 0.25})
    features = {"churn": CHURN_FEATURES, "price": PRICE_FEATURES}.get(kind, [])
    classes = {"digits": [str(d) for d in range(10)], "churn": ["no", "yes"]}.get(kind, [])
    outputs = {"prediction": "the class index" if head != "regression" else "the value in the target's units"}
    if head != "regression":
        outputs["probabilities"] = "each class's probability"
    return ModelCard(
        job_id=job_id,
        model={"name": "mlp", "hidden": [hidden], "activation": "relu", "dropout": 0.0},
        task={"classes": "multiclass_classification", "binary": "binary_classification"}.get(head, "regression"),
        head=head,  # type: ignore[arg-type]
        n_outputs=n_out,
        input=ModelInput(kind="images" if kind == "digits" else "features", shape=shape, dtype="float32"),
        features=features,
        normalization=Normalization(mean=model.module.mean.tolist(), scale=model.module.scale.tolist()),
        target=None if kind == "digits" else "y",
        classes=classes,
        outputs=outputs,
        weights=weights,
        onnx_unavailable=None if onnx else "the model uses an operator ONNX cannot express",
    )


def install(kind: str, job_id: str, *, best: bool = False, onnx: bool = True, hidden: int = 16) -> ModelCard:
    """Write a job's model files into the store, as the worker's export does; the card written."""
    store, model = get_store(), exported(kind, hidden)
    written = card(kind, job_id, best=best, onnx=onnx, hidden=hidden)
    for which in written.weights:
        store.put_bytes(model_key(job_id, model_filename(which, "safetensors")), model.safetensors)
        if onnx:
            store.put_bytes(model_key(job_id, model_filename(which, "onnx")), model.onnx)
    store.put_bytes(model_key(job_id, MODEL_CARD), written.model_dump_json().encode())
    environment = {"gradyard": "0.1.0", "torch": torch.__version__, "device": "cpu", "seed": 0}
    store.put_bytes(model_key(job_id, "environment.json"), orjson.dumps(environment))
    return written


def end_job(job_id: str, *, status: str = "succeeded", model_status: str | None = "ready") -> None:
    """Drive a queued job as a worker would: claim it, record two epochs of points, end it; then its model state."""
    with session_scope() as session:
        attempt = repository.claim_job(session, job_id=job_id)
        assert attempt is not None
        points = [
            Point(name, step, step // 10, value, 1.5 * step)
            for name in ("train_loss", "val_loss")
            for step, value in ((10, 0.5), (20, 0.25))
        ]
        repository.record_progress(session, job_id=job_id, attempt=attempt, points=points, epoch=2, step=20)
        repository.finish_job(session, job_id=job_id, attempt=attempt, status=status)  # type: ignore[arg-type]
        if status == "succeeded" and model_status not in (None, "exporting"):
            repository.set_model_state(session, job_id=job_id, status=model_status, detail=None)  # type: ignore[arg-type]


def trained_job(client: TestClient, kind: str, *, best: bool = False, onnx: bool = True) -> str:
    """A job submitted through the API that succeeded with a ready model of this kind; its id."""
    response = client.post("/jobs", json=DIGITS_SPEC)
    assert response.status_code == 201, response.text
    job_id = str(response.json()["id"])
    install(kind, job_id, best=best, onnx=onnx)
    end_job(job_id)
    return job_id
