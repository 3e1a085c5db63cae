"""A trained model's files: every catalog model exports to ONNX that ONNX Runtime runs like torch, every head reads
out what the job's metrics read, and model.json plus safetensors rebuild the model in a fresh process."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import torch
from safetensors.torch import load_file

from core.components import MODELS, component_name
from core.model_card import ONNX_INPUT, ONNX_PREDICTION, ONNX_PROBABILITIES, ModelCard
from core.spec import JobSpec
from core.store import MODEL_CARD, get_store, model_key
from tests.datasets import files
from tests.worker.recording import CPU, ListRecorder
from tests.worker.test_uploaded import stored
from worker.data import load_data
from worker.engine import train
from worker.export import served_model, write_model_files
from worker.model_files import rebuild
from worker.trained import Trained

ROOT = Path(__file__).resolve().parents[2]
IMAGES = {"name": "synthetic_images", "n_samples": 40, "val_fraction": 0.25, "normalize": "standard"}
# One small dataset each catalog model takes, trained for one epoch: the export, not the fit, is under test.
MODEL_CASES: dict[str, dict[str, Any]] = {
    "linear": {"dataset": {"name": "diabetes", "normalize": "standard"}, "model": "linear", "loss": "mse"},
    "logistic": {"dataset": {"name": "breast_cancer", "normalize": "standard"}, "model": "logistic", "loss": "bce"},
    "mlp": {"dataset": {"name": "digits", "normalize": "standard"}, "model": "mlp", "loss": "cross_entropy"},
    "cifar_cnn": {"dataset": IMAGES, "model": "cifar_cnn", "loss": "cross_entropy"},
    "lenet": {"dataset": IMAGES | {"channels": 1, "image_size": 28}, "model": "lenet", "loss": "cross_entropy"},
    # One 28x28 channel and few images: resnet18 at 32x32 costs seconds a forward on 2 cores.
    "resnet18": {"dataset": IMAGES | {"channels": 1, "image_size": 28, "n_samples": 24}, "model": "resnet18"}
    | {"loss": "cross_entropy"},
    "embedding_bag": {
        "dataset": {"name": "synthetic_tokens", "n_samples": 200, "vocab_size": 50},
        "model": "embedding_bag",
        "loss": "cross_entropy",
    },
}


def trained(raw: dict[str, Any]) -> tuple[JobSpec, Trained]:
    spec = JobSpec.model_validate({"optimizer": "adam", "epochs": 1, "batch_size": 32} | raw)
    outcome = train(spec, ListRecorder(), device=CPU)
    assert outcome.status == "succeeded" and outcome.trained is not None
    return spec, outcome.trained


def exported(job_id: str, raw: dict[str, Any]) -> tuple[JobSpec, Trained, ModelCard]:
    """Train, write the model files; the spec, what training left and the card as written."""
    spec, result = trained(raw)
    assert write_model_files(get_store(), job_id, spec, result) is None  # every set of weights has its ONNX file
    card = ModelCard.model_validate_json(get_store().local_path(model_key(job_id, MODEL_CARD)).read_bytes())
    return spec, result, card


def onnx_outputs(job_id: str, which: str, rows: np.ndarray) -> dict[str, np.ndarray]:
    path = get_store().local_path(model_key(job_id, f"{which}.onnx"))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {ONNX_INPUT: rows}), strict=True))


def test_the_cases_cover_the_catalog() -> None:
    assert sorted(MODEL_CASES) == sorted(component_name(model) for model in MODELS)


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_every_catalog_model_exports_to_onnx_that_matches_torch(store: Path, name: str) -> None:
    _, result, card = exported(name, MODEL_CASES[name])
    rows = result.raw.sample
    # Torch's side, from the files alone: the rebuilt model on inputs scaled and standardised as model.json says.
    model = rebuild(store / model_key(name, MODEL_CARD), store / model_key(name, "final.safetensors"))
    inputs = torch.from_numpy(rows)
    if card.input.pixel_scale is not None:
        inputs = inputs / round(1 / card.input.pixel_scale)
    if card.normalization is not None:
        shape = card.input.shape
        mean = torch.tensor(card.normalization.mean).reshape(shape)
        inputs = (inputs - mean) / torch.tensor(card.normalization.scale).reshape(shape)
    with torch.no_grad():
        scores = model(inputs)
    got = onnx_outputs(name, "final", rows)
    if card.head == "classes":
        assert got[ONNX_PREDICTION].tolist() == scores.argmax(dim=1).tolist()
        probabilities = torch.softmax(scores, dim=1)
        assert np.abs(got[ONNX_PROBABILITIES] - probabilities.numpy()).max() <= 1e-4
    elif card.head == "binary":  # a logit per row: class 1 where it is positive
        assert got[ONNX_PREDICTION].tolist() == (scores[:, 0] > 0).long().tolist()
        positive = torch.sigmoid(scores[:, 0]).numpy()
        assert np.abs(got[ONNX_PROBABILITIES] - np.stack([1 - positive, positive], axis=1)).max() <= 1e-4
    else:  # regression, in the target's units
        assert card.head == "regression"
        assert np.abs(got[ONNX_PREDICTION] - scores.numpy()).max() <= 1e-4 * max(1.0, float(scores.abs().max()))
    final = card.weights["final"]
    assert final.onnx is not None and final.onnx.max_abs_diff <= 1e-4 and 0 < final.onnx.checked_rows <= len(rows)
    assert card.input.shape == list(result.facts.input_shape) and card.n_outputs == scores.shape[1]


def test_named_features_classes_and_pixel_scale_in_the_card(store: Path) -> None:
    _, _, iris = exported("iris", {"dataset": {"name": "iris", "normalize": "standard"}, "model": "mlp", "loss": "nll"})
    assert [f.name for f in iris.features][:2] == ["sepal length (cm)", "sepal width (cm)"]
    assert iris.classes == ["setosa", "versicolor", "virginica"] and iris.input.pixel_scale is None
    assert iris.normalization is not None and len(iris.normalization.mean) == 4
    _, _, digits = exported("digits", MODEL_CASES["mlp"])
    assert digits.features == [] and digits.classes == [str(i) for i in range(10)]
    assert digits.input.kind == "images" and digits.input.shape == [1, 8, 8]
    environment = json.loads(get_store().local_path(model_key("digits", "environment.json")).read_bytes())
    assert environment["torch"] == torch.__version__ and environment["seed"] == 0 and environment["device"] == "cpu"


REGRESSION = {"name": "synthetic_regression", "n_samples": 200, "normalize": "standard"}
CLASSES = {"name": "synthetic_classification", "n_samples": 200, "n_classes": 3}
BINARY = {"name": "breast_cancer", "normalize": "standard"}
MULTILABEL = {"name": "synthetic_multilabel", "n_samples": 200, "n_labels": 4}
# head case -> (dataset, loss, the ONNX outputs and their shapes for N rows: -1 stands for N).
HEAD_CASES: dict[str, tuple[dict[str, Any], Any, dict[str, list[int]]]] = {
    "classes": (CLASSES, "cross_entropy", {ONNX_PREDICTION: [-1], ONNX_PROBABILITIES: [-1, 3]}),
    "binary": (BINARY, "bce_with_logits", {ONNX_PREDICTION: [-1], ONNX_PROBABILITIES: [-1, 2]}),
    "binary_distance": (BINARY, "hinge_embedding", {ONNX_PREDICTION: [-1]}),
    "multilabel": (MULTILABEL, "multilabel_soft_margin", {ONNX_PREDICTION: [-1, 4], ONNX_PROBABILITIES: [-1, 4]}),
    "multilabel_margin": (MULTILABEL, "multilabel_margin", {ONNX_PREDICTION: [-1, 4]}),
    "regression": (REGRESSION, "mse", {ONNX_PREDICTION: [-1, 1]}),
    "poisson": ({"name": "synthetic_counts", "n_samples": 200}, "poisson_nll", {ONNX_PREDICTION: [-1, 1]}),
    "softplus_rates": (
        {"name": "synthetic_counts", "n_samples": 200},
        {"name": "poisson_nll", "log_input": False},
        {ONNX_PREDICTION: [-1, 1]},
    ),
    "gaussian": (REGRESSION, "gaussian_nll", {ONNX_PREDICTION: [-1, 1]}),
    "ranking": (REGRESSION, "margin_ranking", {ONNX_PREDICTION: [-1, 1]}),
    "embedding": (CLASSES, {"name": "cosine_embedding", "embedding_dim": 5}, {ONNX_PREDICTION: [-1, 5]}),
    "triplet": (CLASSES, {"name": "triplet_margin", "embedding_dim": 5}, {ONNX_PREDICTION: [-1, 5]}),
}


@pytest.mark.parametrize("case", sorted(HEAD_CASES))
def test_each_head_predicts_what_the_jobs_metrics_read_out(store: Path, case: str) -> None:
    dataset, loss, shapes = HEAD_CASES[case]
    raw = {"dataset": dataset, "model": {"name": "mlp", "hidden": [16]}, "loss": loss}
    spec, result, card = exported(case, raw)
    # What the job's metrics compared: the objective's readout of the model on the validation split as trained.
    data = load_data(spec.dataset, seed=spec.seed, device=CPU)
    assert data.val is not None
    rows = result.raw.sample
    with torch.no_grad():
        readout = result.objective.readout(result.model(data.val.x[: len(rows)]))
        served = served_model(spec, result)(torch.from_numpy(rows))
    prediction = served[0] if isinstance(served, tuple) else served
    assert torch.equal(prediction.reshape(readout.shape).to(readout.dtype), readout)  # exactly, on real rows
    got = onnx_outputs(case, "final", rows)
    assert {name: list(value.shape) for name, value in got.items()} == {
        name: [len(rows) if size == -1 else size for size in shape] for name, shape in shapes.items()
    }
    assert set(card.outputs) == set(shapes)
    if card.head in ("classes", "binary", "multilabel"):
        assert got[ONNX_PREDICTION].dtype == np.int64
        assert got[ONNX_PREDICTION].tolist() == prediction.tolist()
    else:
        assert np.abs(got[ONNX_PREDICTION] - prediction.numpy()).max() <= 1e-4 * max(1.0, readout.abs().max().item())
    if ONNX_PROBABILITIES in got:
        assert np.allclose(got[ONNX_PROBABILITIES].sum(axis=1), 1.0, atol=1e-5) or card.head == "multilabel"


def test_a_fresh_process_rebuilds_the_model_from_its_files_alone(store: Path, tmp_path: Path) -> None:
    spec, result, card = exported("rebuilt", {"dataset": IMAGES, "model": "lenet", "loss": "cross_entropy"})
    rows = torch.from_numpy(result.raw.sample)
    data = load_data(spec.dataset, seed=spec.seed, device=CPU)
    assert data.val is not None
    with torch.no_grad():
        expected = result.model(data.val.x[: len(rows)])
    np.save(tmp_path / "inputs.npy", data.val.x[: len(rows)].numpy())
    program = (
        "import sys, numpy, torch\n"
        "from pathlib import Path\n"
        "from worker.model_files import rebuild\n"
        "card, weights, inputs, out = (Path(p) for p in sys.argv[1:])\n"
        "model = rebuild(card, weights)\n"
        "with torch.no_grad():\n"
        "    numpy.save(out, model(torch.from_numpy(numpy.load(inputs))).numpy())\n"
    )
    arguments = [store / model_key("rebuilt", name) for name in (MODEL_CARD, "final.safetensors")]
    subprocess.run(
        [sys.executable, "-c", program, *map(str, arguments), str(tmp_path / "inputs.npy"), str(tmp_path / "out.npy")],
        cwd=ROOT,
        check=True,
    )
    assert torch.equal(torch.from_numpy(np.load(tmp_path / "out.npy")), expected)  # bit for bit, on the CPU
    weights = load_file(arguments[1])
    assert set(weights) == set(result.model.state_dict()) and card.weights["final"].epoch == 1


def test_best_weights_are_the_best_epochs_and_get_their_own_onnx(store: Path) -> None:
    raw = {
        "dataset": CLASSES,
        "model": {"name": "mlp", "hidden": [16]},
        "loss": "cross_entropy",
        "optimizer": {"name": "sgd", "lr": 2.0},  # a rate that overshoots, so the best epoch is seldom the last
        "epochs": 8,
        "early_stopping": {"metric": "val_loss", "patience": 8},
    }
    recorder = ListRecorder()
    spec = JobSpec.model_validate({"batch_size": 32} | raw)
    outcome = train(spec, recorder, device=CPU)
    assert outcome.trained is not None and outcome.trained.best is not None
    best = outcome.trained.best
    losses = recorder.series("val_loss")
    assert best.epoch == 1 + int(np.argmin(losses)) and best.value == min(losses) and best.metric == "val_loss"
    assert write_model_files(get_store(), "best", spec, outcome.trained) is None
    card = ModelCard.model_validate_json(get_store().local_path(model_key("best", MODEL_CARD)).read_bytes())
    assert (card.weights["best"].epoch, card.weights["final"].epoch) == (best.epoch, outcome.epochs)
    stored = load_file(str(store / model_key("best", "best.safetensors")))
    assert all(torch.equal(stored[name], value) for name, value in best.weights.items())
    assert card.weights["best"].onnx is not None and card.weights["best"].onnx.max_abs_diff <= 1e-4


def test_a_channels_last_model_exports_with_contiguous_weights(store: Path) -> None:
    raw = MODEL_CASES["lenet"] | {"channels_last": True}
    _, result, card = exported("channels-last", raw)
    weights = load_file(str(store / model_key("channels-last", "final.safetensors")))
    assert all(torch.equal(weights[name], value) for name, value in result.model.state_dict().items())
    assert card.weights["final"].onnx is not None and card.weights["final"].onnx.max_abs_diff <= 1e-4


@pytest.mark.gpu
def test_a_model_trained_on_cuda_exports_on_the_cpu(store: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    raw = MODEL_CASES["cifar_cnn"] | {"device": "cuda", "precision": "bf16", "channels_last": True, "epochs": 3}
    spec = JobSpec.model_validate(raw | {"optimizer": "adam", "early_stopping": {"patience": 3}})
    outcome = train(spec, ListRecorder(), device=torch.device("cuda"))
    assert outcome.trained is not None and outcome.trained.best is not None
    assert all(value.device.type == "cpu" for value in outcome.trained.best.weights.values())
    assert write_model_files(get_store(), "cuda", spec, outcome.trained) is None
    card = ModelCard.model_validate_json(get_store().local_path(model_key("cuda", MODEL_CARD)).read_bytes())
    assert set(card.weights) == {"final", "best"} and all(w.onnx is not None for w in card.weights.values())
    environment = json.loads(get_store().local_path(model_key("cuda", "environment.json")).read_bytes())
    assert environment["device"] == "cuda" and environment["device_name"] == torch.cuda.get_device_name()


def encoded(card: ModelCard, record: dict[str, Any]) -> list[float]:
    """A record as the API encodes it for the model (model.json's rules): columns in order, booleans 0/1,
    categories one-hot, missing values their fill."""
    values: list[float] = []
    for column in card.features:
        value = record.get(column.name)
        if column.dtype == "category":
            assert column.categories is not None
            values += [float(value == category) for category in column.categories]
        elif value is None:
            assert column.fill is not None
            values.append(column.fill)
        else:
            values.append(float(value))
    return values


def test_an_uploaded_table_s_card_encodes_records_as_training_did(store: Path) -> None:
    rows = files.churn_rows()
    text = files.churn_csv().decode().splitlines()
    text[1] = ",".join(["", *text[1].split(",")[1:]])  # one missing tenure: filled with the mean
    dataset = stored("churn.csv", ("\n".join(text) + "\n").encode(), store, missing="mean", normalize="standard")
    raw = {"dataset": dataset, "model": {"name": "mlp", "hidden": [8]}, "loss": "cross_entropy", "epochs": 3}
    spec, result, card = exported("churn", raw)
    assert [(c.name, c.dtype, c.categories) for c in card.features] == [
        ("tenure", "number", None),
        ("plan", "category", ["basic", "plus", "pro"]),
        ("paperless", "boolean", None),
    ]
    tenures = [t for t, _, _, _ in rows[1:]]
    assert card.features[0].fill == pytest.approx(sum(tenures) / len(tenures))
    assert card.target == "churned" and card.classes == ["no", "yes"] and card.feature_width() == 5
    # Every training row, given as a record the way a person holds it, predicts what the trained model does.
    records = [{"tenure": None if i == 0 else t, "plan": p, "paperless": b} for i, (t, p, b, _) in enumerate(rows)]
    inputs = np.array([encoded(card, record) for record in records], dtype=np.float32)
    data = load_data(spec.dataset, seed=spec.seed, device=CPU)
    everything = torch.cat([data.train.x, data.val.x]) if data.val is not None else data.train.x
    with torch.no_grad():
        by_model = result.objective.readout(result.model(everything)).tolist()
        by_served = served_model(spec, result)(torch.from_numpy(inputs))
    prediction = by_served[0] if isinstance(by_served, tuple) else by_served
    assert sorted(prediction.tolist()) == sorted(by_model)  # the same rows, in another order (the split's)
    assert onnx_outputs("churn", "final", inputs)[ONNX_PREDICTION].tolist() == prediction.tolist()


def test_uploaded_8_bit_images_take_raw_pixels(store: Path) -> None:
    dataset = stored("shades.zip", files.image_zip(files.two_class_images(n=20, size=8)), store, val_fraction=0.25)
    raw = {"dataset": dataset, "model": {"name": "mlp", "hidden": [8]}, "loss": "cross_entropy", "epochs": 3}
    spec, result, card = exported("shades", raw)
    assert card.input.pixel_scale == 1 / 255 and card.input.kind == "images" and card.features == []
    assert result.raw.sample.max() > 1 and np.array_equal(result.raw.sample, np.rint(result.raw.sample))
    data = load_data(spec.dataset, seed=spec.seed, device=CPU)
    assert data.val is not None
    with torch.no_grad():
        expected = result.objective.readout(result.model(data.val.x)).tolist()
    assert onnx_outputs("shades", "final", result.raw.sample)[ONNX_PREDICTION].tolist() == expected


def test_an_uploaded_npz_of_feature_vectors_numbers_its_features(store: Path) -> None:
    x = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    labels = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0], axis=1).astype(np.float32)
    dataset = stored("labels.npz", files.npz_arrays(x=x, y=labels), store)
    raw = {"dataset": dataset, "model": {"name": "mlp", "hidden": [8]}, "loss": "bce_with_logits"}
    _, _, card = exported("labels", raw)
    assert [f.name for f in card.features] == [f"x{i}" for i in range(6)] and card.head == "multilabel"
    assert card.classes == dataset["resolved"]["classes"] and len(card.classes) == 2
