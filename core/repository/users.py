"""Users and their API keys."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from core.keys import Principal, hash_key, key_prefix, new_key
from core.tables import ApiKey, AppUser
from core.timeutil import utcnow


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: the only moment its plain text exists."""

    id: str
    user: str
    is_admin: bool
    key: str


def _user(session: Session, *, name: str) -> AppUser:
    user = session.scalars(select(AppUser).where(AppUser.name == name)).one_or_none()
    if user is None:
        user = AppUser(id=str(uuid.uuid4()), name=name, created_at=utcnow())
        session.add(user)
        session.flush()
    return user


def issue_key(session: Session, *, user_name: str, is_admin: bool) -> IssuedKey:
    """Create the user if needed and give them a new key; the user's other keys keep their rights."""
    user = _user(session, name=user_name)
    key = new_key()
    record = ApiKey(
        id=str(uuid.uuid4()), user_id=user.id, prefix=key_prefix(key), key_hash=hash_key(key), is_admin=is_admin
    )
    session.add(record)
    session.flush()
    return IssuedKey(record.id, user.name, record.is_admin, key)


def issue_first_admin_key(session: Session) -> IssuedKey | None:
    """An admin key when the database has no user yet (its first start); None otherwise."""
    if session.scalar(select(func.count()).select_from(AppUser)):
        return None
    return issue_key(session, user_name="admin", is_admin=True)


def principal_for_key(session: Session, *, key: str) -> Principal | None:
    """The user a presented key belongs to, with that key's rights, if the key exists and is not revoked."""
    row = session.execute(
        select(AppUser.id, AppUser.name, ApiKey.is_admin)
        .join(ApiKey, ApiKey.user_id == AppUser.id)
        .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    return None if row is None else Principal(user_id=row[0], name=row[1], is_admin=row[2])


@dataclass(frozen=True)
class KeyInfo:
    """A key as `gradyard keys list` shows it: never its secret."""

    id: str
    prefix: str
    user: str
    is_admin: bool
    created_at: datetime
    revoked_at: datetime | None


def _key_infos(session: Session, *conditions: ColumnElement[bool]) -> list[KeyInfo]:
    rows = session.execute(
        select(ApiKey.id, ApiKey.prefix, AppUser.name, ApiKey.is_admin, ApiKey.created_at, ApiKey.revoked_at)
        .join(AppUser, ApiKey.user_id == AppUser.id)
        .where(*conditions)
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return [KeyInfo(*row) for row in rows]


def list_keys(session: Session) -> Sequence[KeyInfo]:
    """Every key, oldest first."""
    return _key_infos(session)


def get_key(session: Session, *, key_id: str) -> KeyInfo | None:
    """One key by id, revoked or not."""
    found = _key_infos(session, ApiKey.id == key_id)
    return found[0] if found else None


def revoke_key(session: Session, *, key_id: str) -> bool:
    """Revoke a key by id; False when no live key has that id."""
    result = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_key_admin(session: Session, *, key_id: str, is_admin: bool) -> KeyInfo | None:
    """Set a live key's admin flag; the key as it was before, or None when no live key has that id."""
    before = get_key(session, key_id=key_id)
    if before is None or before.revoked_at is not None:
        return None
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(is_admin=is_admin))
    return before


def lock_user_for_submit(session: Session, *, user_id: str) -> None:
    """Take the user's row lock for this transaction, so that concurrent submits count active jobs one at a time."""
    session.execute(update(AppUser).where(AppUser.id == user_id).values(last_submit_at=utcnow()))
