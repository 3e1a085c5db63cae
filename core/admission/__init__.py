"""Whether a spec is admitted: its parts fit together, its data is here, and it stays within the server's limits."""

from core.admission.compatibility import data_problems, fit_problems
from core.admission.limits import limit_problems
from core.errors import SpecRejected
from core.settings import Settings
from core.spec import JobSpec


def check_spec(spec: JobSpec, settings: Settings) -> None:
    """Raise SpecRejected with every problem when the spec cannot train here."""
    problems = fit_problems(spec) + limit_problems(spec, settings)
    problems += data_problems(spec, data_dir=settings.data_dir, download=settings.download_datasets)
    if problems:
        raise SpecRejected(problems)
