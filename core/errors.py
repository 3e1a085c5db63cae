"""Domain errors. They carry no HTTP: the service maps them to problem+json."""

from dataclasses import dataclass, field


class GradyardError(Exception):
    """Base of every error gradyard raises on purpose."""


class JobNotFound(GradyardError):
    """No job has this id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job has id '{job_id}'")
        self.job_id = job_id


class SweepNotFound(GradyardError):
    """No sweep has this id (for this owner)."""

    def __init__(self, sweep_id: str) -> None:
        super().__init__(f"no sweep has id '{sweep_id}'")
        self.sweep_id = sweep_id


class JobStillActive(GradyardError):
    """The job is still queued or running, and the request needs it ended (a rerun)."""


class JobNotQueued(GradyardError):
    """The change asked for applies to a queued job only (a priority), and the job has started or ended."""


class StaleAttempt(GradyardError):
    """A worker wrote with an attempt number that is no longer the job's current one (fencing)."""


class IdempotencyConflict(GradyardError):
    """An Idempotency-Key was reused with a different body."""


@dataclass
class SpecProblem:
    """One reason a job spec cannot run, located at a field of the spec."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "spec_incompatible"


@dataclass
class SpecRejected(GradyardError):
    """A spec that parses but cannot train (for example a loss that does not fit the dataset)."""

    problems: list[SpecProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(p.msg for p in self.problems)


class InvalidCursor(GradyardError):
    """A list cursor that gradyard did not issue."""


class QuotaExceeded(GradyardError):
    """The user already has as many active jobs as the server allows."""

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(
            f"you have {active} queued or running jobs, the most this server allows: wait for one to end or cancel one"
        )
        self.active = active
        self.limit = limit


class Unauthenticated(GradyardError):
    """No key, or a key that is unknown or revoked."""


class RateLimited(GradyardError):
    """This key made too many requests; retry after the given seconds."""

    def __init__(self, retry_after: int, why: str = "too many requests with this key") -> None:
        super().__init__(f"{why}: retry after {retry_after}s")
        self.retry_after = retry_after
