"""A job on an uploaded dataset, resolved at submit: the caller's dataset, its schema checked, its hash pinned."""

from sqlalchemy.orm import Session

from core.components.upload import Upload
from core.datasets.errors import DatasetNotFound
from core.datasets.resolve import resolve_upload
from core.datasets.schema import DatasetSchema
from core.errors import SpecProblem, SpecRejected
from core.keys import Principal
from core.repository import datasets as repo
from core.spec import JobSpec
from core.store import canonical_key, get_store
from core.tables import Dataset


def _find(session: Session, reference: str, principal: Principal) -> Dataset:
    """The caller's dataset by id, or by 'sha256:<hash>' of its bytes (a spec file can name content, not an id)."""
    if reference.startswith("sha256:"):
        found = repo.find_dataset_by_sha(session, owner_id=principal.user_id, sha256=reference[7:])
        if found is None:
            raise DatasetNotFound(reference)
        return found
    return repo.get_dataset(session, dataset_id=reference, owner_id=principal.owner_filter())


def resolve_job_dataset(session: Session, spec: JobSpec, principal: Principal) -> JobSpec:
    """The spec with its upload resolved (unchanged for a built-in dataset); SpecRejected naming the column."""
    dataset = spec.dataset
    if not isinstance(dataset, Upload):
        return spec
    try:
        row = _find(session, dataset.id, principal)
    except DatasetNotFound as exc:
        raise SpecRejected([SpecProblem(("dataset", "id"), f"{exc}: upload one with POST /datasets")]) from exc
    canonical = get_store().local_path(canonical_key(row.sha256))
    schema = DatasetSchema.model_validate(row.schema)
    resolved = resolve_upload(dataset, schema, sha256=row.sha256, label=row.name, canonical=canonical)
    if isinstance(resolved, list):
        raise SpecRejected(resolved)
    pinned = dataset.model_copy(update={"id": row.id, "resolved": resolved})  # by id, so DELETE sees its users
    return spec.model_copy(update={"dataset": pinned})
