"""problem+json for the dataset errors."""

from fastapi import FastAPI, Request
from fastapi.responses import Response

from core.datasets.errors import DatasetInUse, DatasetNotFound, DatasetQuotaExceeded, DatasetRejected
from service.problems import problem

TITLES = {413: ("Upload too large", "upload-too-large"), 415: ("Unsupported upload", "unsupported-media-type")}


def _on_rejected(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DatasetRejected)
    title, kind = TITLES.get(exc.status, ("Dataset cannot be used", "dataset-invalid"))
    return problem(exc.status, title, str(exc), kind=kind)


def _on_not_found(_: Request, exc: Exception) -> Response:
    return problem(404, "Dataset not found", str(exc), kind="not-found")


def _on_in_use(_: Request, exc: Exception) -> Response:
    return problem(409, "Dataset in use", str(exc), kind="dataset-in-use")


def _on_quota(_: Request, exc: Exception) -> Response:
    return problem(429, "Dataset quota reached", str(exc), kind="quota-exceeded")


def install_dataset_problems(app: FastAPI) -> None:
    """Map the dataset errors to problem+json."""
    app.add_exception_handler(DatasetRejected, _on_rejected)
    app.add_exception_handler(DatasetNotFound, _on_not_found)
    app.add_exception_handler(DatasetInUse, _on_in_use)
    app.add_exception_handler(DatasetQuotaExceeded, _on_quota)
