"""Why an upload or a job on an upload is refused; no HTTP here, the service maps these to problem+json."""

from core.errors import GradyardError


class DatasetRejected(GradyardError):
    """An uploaded file that cannot become a dataset; the message names the file, row or column."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status  # 413 too large, 415 unsupported format, 422 unusable content


class DatasetNotFound(GradyardError):
    """No dataset has this id (or it is another user's)."""

    def __init__(self, dataset_id: str) -> None:
        super().__init__(f"no dataset has id '{dataset_id}'")


class DatasetInUse(GradyardError):
    """A queued or running job needs the dataset."""


class DatasetQuotaExceeded(GradyardError):
    """The user keeps as many datasets (or bytes) as the server allows."""
