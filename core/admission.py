"""Whether a spec is admitted: its parts fit together and it stays within the server's limits."""

from core.errors import SpecRejected
from core.fit import fit_problems
from core.limits import limit_problems
from core.settings import Settings
from core.spec import JobSpec


def check_spec(spec: JobSpec, settings: Settings) -> None:
    """Raise SpecRejected with every problem when the spec cannot train here."""
    problems = fit_problems(spec) + limit_problems(spec, settings)
    if problems:
        raise SpecRejected(problems)
