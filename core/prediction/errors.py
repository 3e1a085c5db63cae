"""Why a model cannot be served, or a prediction request cannot be read; no HTTP here, the service maps these to
problem+json (the status a client should see travels with them, as with core.datasets.errors)."""

from core.errors import GradyardError


class PredictionRejected(GradyardError):
    """A prediction request the model cannot take; the message says what the model expects."""

    def __init__(self, message: str, *, status: int = 422, loc: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__(message)
        self.status = status  # 400 malformed, 413 too large, 415 unsupported body, 422 does not fit the model
        self.loc = loc


class ModelNotServable(GradyardError):
    """A job whose model cannot be served now (not succeeded, still exporting, unavailable) or has no such file."""

    def __init__(self, message: str, *, status: int, title: str, kind: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # 404 no such file (no best weights, no ONNX), 409 the job or its model is not ready
        self.title = title
        self.kind = kind
        self.retry_after = retry_after
