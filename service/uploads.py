"""POST /datasets behind the route: quota, streamed receive, dedup, parse off the event loop, store, row."""

import logging
from pathlib import Path
from typing import get_args

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from core import repository
from core.components.base import Task
from core.datasets.errors import DatasetQuotaExceeded, DatasetRejected
from core.datasets.ingest import Options, ingest, write_canonical
from core.datasets.schema import DatasetSchema
from core.db import session_scope
from core.keys import Principal
from core.repository import datasets as repo
from core.settings import Settings, get_settings
from core.store import ArtifactStore, canonical_key, dataset_key, get_store
from core.tables import Dataset
from service.multipart_upload import MalformedUpload, Upload, receive_upload

log = logging.getLogger(__name__)
SLACK = 64 * 1024  # multipart framing and the small fields around the file


def _budget(principal: Principal, settings: Settings) -> int:
    """The most bytes this upload may have: the per-file limit, or what is left of the user's quota."""
    with session_scope() as session:
        count, used = repo.dataset_usage(session, owner_id=principal.user_id)
    if count >= settings.max_datasets_per_user:
        raise DatasetQuotaExceeded(
            f"you keep {count} datasets, the most this server allows: delete one (gradyard datasets rm ID)"
        )
    left = settings.max_dataset_bytes_per_user - used
    if left <= 0:
        raise DatasetQuotaExceeded(f"your datasets take {used:,} bytes, this server's limit: delete one first")
    return min(settings.max_upload_bytes, left)


def _boundary(request: Request) -> bytes:
    kind, _, rest = request.headers.get("content-type", "").partition(";")
    boundary = next((p.strip()[9:] for p in rest.split(";") if p.strip().lower().startswith("boundary=")), "")
    if kind.strip().lower() != "multipart/form-data" or not boundary:
        raise DatasetRejected(
            "POST /datasets takes multipart/form-data with the file in a part named 'file'", status=415
        )
    return boundary.strip('"').encode()


def _options(upload: Upload) -> Options:
    task = upload.text("task")
    if task is not None and task not in get_args(Task):
        raise DatasetRejected(f"task '{task}' is not one of {', '.join(get_args(Task))}")
    return Options(target=upload.text("target"), task=task)  # type: ignore[arg-type]


def _store_and_record(store: ArtifactStore, upload: Upload, sha256: str, principal: Principal) -> tuple[Dataset, bool]:
    """Parse, then store the bytes and their canonical form and add the row; (dataset, created)."""
    assert upload.filename is not None
    with session_scope() as session:
        earlier = repo.find_dataset_by_sha(session, owner_id=principal.user_id, sha256=sha256)
    if earlier is not None:
        upload.writer.abort()
        return earlier, False
    schema, arrays = ingest(upload.writer.path, upload.filename, _options(upload), get_settings())
    canonical = store.temp_path(".npz")
    try:
        write_canonical(arrays, canonical)
        del arrays
        return _record(store, upload, sha256, canonical, schema, principal)
    finally:
        canonical.unlink(missing_ok=True)


def _record(
    store: ArtifactStore, upload: Upload, sha256: str, canonical: Path, schema: DatasetSchema, principal: Principal
) -> tuple[Dataset, bool]:
    try:
        return _insert(store, upload, sha256, canonical, schema, principal)
    except BaseException:
        _forget_blobs(store, sha256)
        raise


def _forget_blobs(store: ArtifactStore, sha256: str) -> None:
    """After the row could not be stored: delete the bytes just stored, unless a dataset row (another user's, with
    the same bytes) holds them. When even that cannot be asked, they stay, and the log says so."""
    try:
        with session_scope() as session:
            held = repo.rows_with_sha(session, sha256=sha256) > 0
    except SQLAlchemyError:
        log.warning("dataset %s: its row was not stored and its files stay (the database did not answer)", sha256)
        return
    if not held:
        store.delete(dataset_key(sha256))
        store.delete(canonical_key(sha256))


def _insert(
    store: ArtifactStore, upload: Upload, sha256: str, canonical: Path, schema: DatasetSchema, principal: Principal
) -> tuple[Dataset, bool]:
    with session_scope() as session:
        if principal.user_id is not None:  # racing uploads of one user: one at a time from here
            repository.lock_user_for_submit(session, user_id=principal.user_id)
        earlier = repo.find_dataset_by_sha(session, owner_id=principal.user_id, sha256=sha256)
        if earlier is not None:
            upload.writer.abort()
            return earlier, False
        store.commit(upload.writer.path, dataset_key(sha256))
        store.commit(canonical, canonical_key(sha256))
        name = upload.text("name") or upload.filename or "upload"
        dataset = repo.create_dataset(
            session,
            owner_id=principal.user_id,
            name=name[:200],
            schema=schema,
            sha256=sha256,
            size=upload.writer.size,
            actor=principal.name,
        )
    return dataset, True


async def handle_upload(request: Request, principal: Principal) -> tuple[Dataset, bool]:
    """Receive, check and store one upload; (dataset, created). Nothing stays on disk when it is refused."""
    settings, store = get_settings(), get_store()
    boundary = _boundary(request)
    limit = await run_in_threadpool(_budget, principal, settings)
    declared = request.headers.get("content-length", "")
    upload = Upload(writer=store.writer(), limit=limit)
    try:
        if declared.isdigit() and int(declared) > limit + SLACK and int(declared) > settings.max_upload_bytes * 2:
            raise _too_large(limit)  # too big to be worth reading to the end: answered at once
        try:
            await receive_upload(request.stream(), boundary, upload, drain=settings.max_upload_bytes)
        except MalformedUpload as exc:
            raise DatasetRejected(str(exc), status=400) from exc
        if upload.too_large:
            raise _too_large(limit)
        if upload.filename is None:
            raise DatasetRejected("the form has no part named 'file'")
        sha256 = upload.writer.finish()
        if upload.writer.size == 0:
            raise DatasetRejected(f"{upload.filename}: the file is empty")
        return await run_in_threadpool(_store_and_record, store, upload, sha256, principal)
    finally:
        upload.writer.abort()  # a no-op once committed (the temporary file was moved)


def _too_large(limit: int) -> DatasetRejected:
    return DatasetRejected(f"the file is larger than {limit:,} bytes (this server's limit, or your quota)", status=413)
