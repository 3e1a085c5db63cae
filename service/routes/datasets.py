"""Dataset routes: upload, list, read, delete."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from core.datasets.errors import DatasetInUse
from core.repository import datasets as repo
from core.repository import lock_user_for_submit
from core.store import canonical_key, dataset_key, get_store
from service.auth import PrincipalDep
from service.dataset_schemas import DatasetList, DatasetOut
from service.deps import SessionDep
from service.uploads import handle_upload

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetOut,
    responses={200: {"model": DatasetOut, "description": "These bytes were uploaded before: the stored dataset."}},
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "name": {"type": "string"},
                            "target": {"type": "string"},
                            "task": {"type": "string"},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def upload_dataset(request: Request, principal: PrincipalDep, response: Response) -> DatasetOut:
    """Upload a CSV/TSV, Parquet, NPZ or image archive (multipart part `file`; optional `name`, `target`, `task`).
    It is parsed once and its schema answered; the same bytes again answer 200 with the stored dataset."""
    dataset, created = await handle_upload(request, principal)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/datasets/{dataset.id}"
    return DatasetOut.of(dataset)


@router.get("", response_model=DatasetList)
def list_datasets(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> DatasetList:
    """The caller's datasets (everyone's for an admin), newest first, a page at a time."""
    rows, next_cursor = repo.list_datasets(session, limit=limit, cursor=cursor, owner_id=principal.owner_filter())
    return DatasetList(items=[DatasetOut.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/{dataset_id}", response_model=DatasetOut)
def read_dataset(dataset_id: str, session: SessionDep, principal: PrincipalDep) -> DatasetOut:
    """One dataset: format, hash, size, task, target, classes, columns (type, missing values, role), preview."""
    return DatasetOut.of(repo.get_dataset(session, dataset_id=dataset_id, owner_id=principal.owner_filter()))


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(dataset_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Delete a dataset; 409 while a queued or running job trains on it (finished jobs keep their record)."""
    dataset = repo.get_dataset(session, dataset_id=dataset_id, owner_id=principal.owner_filter())
    if dataset.owner_id is not None:  # submits of its owner wait on this lock, so none slips in meanwhile
        session.commit()
        lock_user_for_submit(session, user_id=dataset.owner_id)
    users = repo.active_jobs_using(session, dataset_id=dataset_id)
    if users:
        raise DatasetInUse(f"dataset '{dataset.name}' is used by queued or running job(s) {', '.join(users[:5])}")
    sha256 = dataset.sha256
    last = repo.delete_dataset(session, dataset=dataset)
    session.commit()
    if last:
        get_store().delete(dataset_key(sha256))
        get_store().delete(canonical_key(sha256))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
