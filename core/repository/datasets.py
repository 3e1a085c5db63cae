"""Uploaded datasets: one row per immutable version; owner-scoped like jobs."""

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.datasets.errors import DatasetNotFound
from core.datasets.schema import DatasetSchema
from core.repository.cursors import newest_first_page
from core.states import ACTIVE_STATUSES
from core.tables import Dataset, Job
from core.timeutil import utcnow


def find_dataset_by_sha(session: Session, *, owner_id: str | None, sha256: str) -> Dataset | None:
    """This owner's dataset with these bytes, if they uploaded them before."""
    query = select(Dataset).where(
        Dataset.sha256 == sha256, Dataset.owner_id.is_(None) if owner_id is None else Dataset.owner_id == owner_id
    )
    return session.scalars(query.limit(1)).first()


def dataset_usage(session: Session, *, owner_id: str | None) -> tuple[int, int]:
    """(datasets, bytes) this owner keeps."""
    owned = Dataset.owner_id.is_(None) if owner_id is None else Dataset.owner_id == owner_id
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(Dataset.bytes), 0)).where(owned)).one()
    return int(count), int(total)


def create_dataset(
    session: Session,
    *,
    owner_id: str | None,
    name: str,
    schema: DatasetSchema,
    sha256: str,
    size: int,
    actor: str | None,
) -> Dataset:
    """Add a dataset row (flushed; the caller commits)."""
    dataset = Dataset(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        name=name,
        format=schema.format,
        sha256=sha256,
        bytes=size,
        rows=schema.rows,
        task=schema.task,
        target=schema.target,
        schema=schema.model_dump(mode="json"),
        actor=actor,
        created_at=utcnow(),
    )
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, *, dataset_id: str, owner_id: str | None = None) -> Dataset:
    """One dataset (of this owner, when one is given), or DatasetNotFound: another's looks like none at all."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or (owner_id is not None and dataset.owner_id != owner_id):
        raise DatasetNotFound(dataset_id)
    return dataset


def list_datasets(
    session: Session, *, limit: int, cursor: str | None, owner_id: str | None = None
) -> tuple[Sequence[Dataset], str | None]:
    """Datasets newest first (only this owner's, when one is given), a page at a time, and the next cursor."""
    query = select(Dataset)
    if owner_id is not None:
        query = query.where(Dataset.owner_id == owner_id)
    return newest_first_page(session, query, table=Dataset, limit=limit, cursor=cursor)


def active_jobs_using(session: Session, *, dataset_id: str) -> list[str]:
    """Ids of queued or running jobs that train on this dataset (the active set is small: quotas bound it)."""
    jobs = session.execute(select(Job.id, Job.spec).where(Job.status.in_(ACTIVE_STATUSES))).all()
    return [job_id for job_id, spec in jobs if (spec.get("dataset") or {}).get("id") == dataset_id]


def delete_dataset(session: Session, *, dataset: Dataset) -> bool:
    """Remove the row; True when no other dataset row shares its bytes (so the caller may delete the blobs)."""
    session.delete(dataset)
    session.flush()
    return rows_with_sha(session, sha256=dataset.sha256) == 0


def rows_with_sha(session: Session, *, sha256: str) -> int:
    """How many dataset rows, of any owner, hold these bytes."""
    return session.scalar(select(func.count()).select_from(Dataset).where(Dataset.sha256 == sha256)) or 0
