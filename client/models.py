"""The model verbs of the Python client: download the weights, the ONNX file or the bundle, predict, rerun."""

import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from client.errors import ApiError, Unreachable

Job = dict[str, Any]
Prediction = dict[str, Any]
ModelFormat = Literal["safetensors", "onnx"]
Which = Literal["final", "best"]
Progress = Callable[[int, int | None], None]  # (bytes received so far, total when the server said)
Rows = Sequence[Sequence[Any]]
Records = Sequence[Mapping[str, Any]]
CHUNK_ROWS = 1000  # rows per request when predict splits a large input: well under the server's cap
DOWNLOAD_CHUNK = 1 << 20


class _Requester(Protocol):
    _http: httpx.Client

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _merge(answers: list[Prediction]) -> Prediction:
    """One answer from the answers of several chunks, rows in order."""
    merged: Prediction = dict(answers[0])
    for field in ("predictions", "probabilities"):
        if field in merged and merged[field] is not None:
            merged[field] = [row for answer in answers for row in answer[field]]
    return merged


def _frame_records(frame: Any) -> list[dict[str, Any]]:
    """A pandas DataFrame's rows as records, missing values (NaN, None, NaT) as null."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return list(cleaned.to_dict(orient="records"))


def _npy(array: Any) -> bytes:
    import numpy as np  # the client needs numpy only for array inputs

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def set_patch(assignments: Sequence[str]) -> dict[str, Any]:
    """A JSON merge patch from `dotted.path=value` pairs; a value is read as JSON (0.01, true, [64, 64], null) and
    as a plain string when it is not JSON."""
    patch: dict[str, Any] = {}
    for assignment in assignments:
        path, sep, raw = assignment.partition("=")
        keys = [k for k in path.strip().split(".") if k]
        if not sep or not keys:
            raise ValueError(f"'{assignment}' is not path=value (e.g. optimizer.lr=0.01)")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = patch
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(f"'{assignment}' sets inside '{key}', which another --set gave a value")
            node = child
        node[keys[-1]] = value
    return patch


class ModelVerbs:
    """What a succeeded job's model gives (mixed into Client)."""

    def download_model(
        self: _Requester,
        job_id: str,
        path: str | Path,
        *,
        fmt: ModelFormat = "safetensors",
        which: Which = "final",
        progress: Progress | None = None,
    ) -> int:
        """Save the job's weights (safetensors) or its ONNX file to `path`, streamed; the bytes written."""
        params: dict[str, str] = {"format": fmt, "which": which}
        return _download(self, f"/jobs/{job_id}/model", params, Path(path), progress)

    def download_bundle(self: _Requester, job_id: str, path: str | Path, *, progress: Progress | None = None) -> int:
        """Save the job's bundle (.tar.gz: model files, model.json, spec.json, metrics.csv, environment.json)."""
        return _download(self, f"/jobs/{job_id}/bundle", {}, Path(path), progress)

    def predict(
        self: _Requester,
        job_id: str,
        data: Rows | Records | Any,
        *,
        chunk_rows: int = CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
    ) -> Prediction:
        """Predictions of a succeeded job's model for rows in feature order, records ({column: value}), a pandas
        DataFrame (by column name) or a numpy array (sent as .npy); large inputs go in chunks of `chunk_rows`.

        The answer: {"predictions": [...]} and, for classifiers, "probabilities" and "classes"."""
        if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
            data = _frame_records(data)
        answers: list[Prediction] = []
        done = 0
        for chunk in _chunks(data, max(1, chunk_rows)):
            if hasattr(chunk, "dtype") and hasattr(chunk, "shape"):  # numpy
                body = {"content": _npy(chunk), "headers": {"Content-Type": "application/x-npy"}}
            elif len(chunk) and isinstance(chunk[0], Mapping):
                body = {"json": {"records": [dict(record) for record in chunk]}}
            else:
                body = {"json": {"inputs": [list(row) for row in chunk]}}
            answers.append(dict(self._request("POST", f"/jobs/{job_id}/predict", **body).json()))
            done += len(chunk)
            if progress is not None:
                progress(done)
        if not answers:
            raise ValueError("nothing to predict: give at least one row")
        return _merge(answers)

    def rerun(self: _Requester, job_id: str, patch: Mapping[str, Any] | None = None) -> Job:
        """A new job with the same resolved spec (seed, dataset hash); `patch` is a JSON merge patch on that spec,
        e.g. {"optimizer": {"lr": 0.01}}."""
        kwargs: dict[str, Any] = {} if patch is None else {"json": dict(patch)}
        return dict(self._request("POST", f"/jobs/{job_id}/rerun", **kwargs).json())


def _download(requester: _Requester, path: str, params: dict[str, str], target: Path, progress: Progress | None) -> int:
    """Stream a response body into `target` (through a temporary file, so a broken download leaves nothing)."""
    partial = target.with_name(f".{target.name}.part")
    written = 0
    try:
        with requester._http.stream("GET", path, params=params, timeout=httpx.Timeout(30, read=300)) as response:
            if response.is_error:
                response.read()
                raise ApiError.of(response)
            total = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else None
            with partial.open("wb") as file:
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    file.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written, total)
        partial.replace(target)
    except httpx.TransportError as exc:
        raise Unreachable(f"the download of {path} broke: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return written
