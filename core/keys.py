"""API keys: made from 256 random bits, shown once, stored as a SHA-256 digest."""

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "gy_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, or everyone when auth is off (then with the rights of an admin)."""

    user_id: str | None
    name: str
    is_admin: bool

    def owner_filter(self) -> str | None:
        """The owner a query must be limited to: the user's own id, or None for admins (all jobs)."""
        return None if self.is_admin else self.user_id


LOCAL = Principal(user_id=None, name="local", is_admin=True)


def new_key() -> str:
    """A fresh API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The digest stored for a key (and looked up for a presented one)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The first characters of a key, kept to tell keys apart in listings."""
    return key[: len(KEY_PREFIX) + 6]
