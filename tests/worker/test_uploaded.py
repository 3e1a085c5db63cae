"""The worker's side of an upload: the canonical form loaded, categories one-hot, missing values handled, images
resized, and trained in-process (the e2e tests train the same through the real stack)."""

from pathlib import Path
from typing import Any

import numpy as np

from core.components.upload import ResolvedUpload, Upload
from core.datasets.ingest import Options, ingest, write_canonical
from core.datasets.resolve import resolve_upload
from core.settings import Settings
from core.store import canonical_key, get_store
from tests.datasets import files
from tests.worker.recording import run
from worker.datasets.uploaded import uploaded_arrays

SHA = "f" * 64


def stored(filename: str, data: bytes, tmp: Path, **dataset: Any) -> dict[str, Any]:
    """Ingest a file into the store as an upload does; the resolved dataset part of a spec."""
    raw = tmp / filename
    raw.write_bytes(data)
    schema, arrays = ingest(raw, filename, Options(), Settings())
    canonical = get_store().local_path(canonical_key(SHA))
    canonical.parent.mkdir(parents=True, exist_ok=True)
    write_canonical(arrays, canonical)
    spec = Upload.model_validate({"name": "upload", "id": "x", **dataset})
    resolved = resolve_upload(spec, schema, sha256=SHA, label=filename, canonical=canonical)
    assert isinstance(resolved, ResolvedUpload), resolved
    return {"name": "upload", "id": "x", **dataset, "resolved": resolved.model_dump()}


def test_categories_become_one_hot_and_class_targets_indices(store: Path) -> None:
    dataset = stored("churn.csv", files.churn_csv(), store)
    loaded = uploaded_arrays(Upload.model_validate(dataset))
    x, y = loaded.x, loaded.y
    assert x.shape == (60, 5) and sorted(set(y.tolist())) == [0, 1]
    assert x[0].tolist() == [files.churn_rows()[0][0], 1.0, 0.0, 0.0, 0.0]  # tenure, plan 'basic', paperless false


def test_missing_values_dropped_or_filled_with_the_mean(store: Path) -> None:
    data = b"a,b,y\n1,,1.5\n2,4,2.5\n3,8,3.5\n4,6,\n"
    dropped = uploaded_arrays(Upload.model_validate(stored("m.csv", data, store, missing="drop_rows")))
    assert dropped.x.tolist() == [[2, 4], [3, 8]] and dropped.y.tolist() == [2.5, 3.5]
    assert dropped.fills == {}
    filled = uploaded_arrays(Upload.model_validate(stored("m.csv", data, store, missing="mean")))
    assert filled.x.tolist() == [[1, 6], [2, 4], [3, 8]] and filled.y.tolist() == [1.5, 2.5, 3.5]
    assert filled.fills == {"a": 2.0, "b": 6.0}  # what a model export records as each column's fill


def test_images_resized_for_lenet_train(store: Path) -> None:
    archive = files.image_zip(files.two_class_images(n=20, size=8))
    dataset = stored("shades.zip", archive, store, image_size=28, normalize="standard", val_fraction=0.25)
    assert dataset["resolved"]["input_shape"] == [1, 28, 28]
    loaded = uploaded_arrays(Upload.model_validate(dataset))
    assert loaded.x.shape == (40, 1, 28, 28) and loaded.pixel_divisor == 255.0
    spec = {"dataset": dataset, "model": "lenet", "loss": "cross_entropy", "optimizer": "adam", "epochs": 15}
    outcome, recorder = run(spec | {"batch_size": 8})
    assert outcome.status == "succeeded" and recorder.series("val_accuracy")[-1] == 1.0
    assert np.isfinite(recorder.series("train_loss")).all()
