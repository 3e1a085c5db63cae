"""Users and their API keys."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
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


def _user(session: Session, *, name: str, is_admin: bool) -> AppUser:
    user = session.scalars(select(AppUser).where(AppUser.name == name)).one_or_none()
    if user is None:
        user = AppUser(id=str(uuid.uuid4()), name=name, is_admin=is_admin, created_at=utcnow())
        session.add(user)
    elif is_admin and not user.is_admin:
        user.is_admin = True
    session.flush()
    return user


def issue_key(session: Session, *, user_name: str, is_admin: bool) -> IssuedKey:
    """Create the user if needed and give them a new key."""
    user = _user(session, name=user_name, is_admin=is_admin)
    key = new_key()
    record = ApiKey(id=str(uuid.uuid4()), user_id=user.id, prefix=key_prefix(key), key_hash=hash_key(key))
    session.add(record)
    session.flush()
    return IssuedKey(record.id, user.name, user.is_admin, key)


def issue_first_admin_key(session: Session) -> IssuedKey | None:
    """An admin key when the database has no user yet (its first start); None otherwise."""
    if session.scalar(select(func.count()).select_from(AppUser)):
        return None
    return issue_key(session, user_name="admin", is_admin=True)


def principal_for_key(session: Session, *, key: str) -> Principal | None:
    """The user a presented key belongs to, if the key exists and is not revoked."""
    row = session.execute(
        select(AppUser.id, AppUser.name, AppUser.is_admin)
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
    created_at: str
    revoked_at: str | None


def list_keys(session: Session) -> Sequence[KeyInfo]:
    """Every key, oldest first."""
    rows = session.execute(
        select(ApiKey.id, ApiKey.prefix, AppUser.name, AppUser.is_admin, ApiKey.created_at, ApiKey.revoked_at)
        .join(AppUser, ApiKey.user_id == AppUser.id)
        .order_by(ApiKey.created_at)
    )
    return [KeyInfo(i, p, u, a, c.isoformat(), r.isoformat() if r else None) for i, p, u, a, c, r in rows]


def revoke_key(session: Session, *, key_id: str) -> bool:
    """Revoke a key by id; False when no live key has that id."""
    result = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lock_user_for_submit(session: Session, *, user_id: str) -> None:
    """Take the user's row lock for this transaction, so that concurrent submits count active jobs one at a time."""
    session.execute(update(AppUser).where(AppUser.id == user_id).values(last_submit_at=utcnow()))
