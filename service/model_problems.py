"""problem+json for the model and prediction errors."""

from fastapi import FastAPI, Request
from fastapi.responses import Response

from core.errors import JobStillActive
from core.prediction.errors import ModelNotServable, PredictionRejected
from service.problems import problem

TITLES = {
    400: ("Malformed JSON", "malformed-json"),
    413: ("Request too large", "request-too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
}


def _on_rejected(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PredictionRejected)
    title, kind = TITLES.get(exc.status, ("Input does not fit the model", "prediction-input"))
    errors = [{"loc": list(exc.loc), "msg": str(exc), "type": kind.replace("-", "_")}]
    return problem(exc.status, title, str(exc), kind=kind, errors=errors)


def _on_not_servable(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ModelNotServable)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return problem(exc.status, exc.title, str(exc), kind=exc.kind, headers=headers)


def _on_still_active(_: Request, exc: Exception) -> Response:
    return problem(409, "Job not ended", str(exc), kind="job-active")


def install_model_problems(app: FastAPI) -> None:
    """Map the model, prediction and rerun errors to problem+json."""
    app.add_exception_handler(PredictionRejected, _on_rejected)
    app.add_exception_handler(ModelNotServable, _on_not_servable)
    app.add_exception_handler(JobStillActive, _on_still_active)
