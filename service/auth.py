"""Who is calling: the Bearer key of every protected route, the per-key request rate, the auth-off rule."""

import ipaddress
import logging
import threading
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core import repository
from core.db import session_scope
from core.errors import RateLimited, Unauthenticated
from core.keys import LOCAL, Principal, hash_key
from core.settings import Settings, get_settings
from service.deps import SessionDep
from service.lru import Lru

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="An API key: `gradyard keys create --user NAME`.")


class TokenBuckets:
    """A token bucket per key, in this process: `rate` requests a minute, bursts up to `rate`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: str, *, rate_per_minute: int, spend: bool = True, why: str | None = None) -> None:
        """Spend a token (spend=False: only check for one), else raise RateLimited saying when one is back."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(rate_per_minute), now))
            tokens = min(float(rate_per_minute), tokens + (now - then) * rate_per_minute / 60.0)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = max(1, round((1.0 - tokens) * 60.0 / rate_per_minute))
                raise RateLimited(wait, why) if why else RateLimited(wait)
            self._buckets[key] = (tokens - 1.0 if spend else tokens, now)


RATE = TokenBuckets()


FAILED_AUTH = "too many requests with unknown keys from this address"
# A key found valid is trusted this long by the hot routes (predictions) without a lookup, per API process: a revoked
# key keeps working there for at most this long. Every other route looks the key up on every request.
KEY_TRUST_SECONDS = 2.0
CACHED_KEYS = 10_000


def _look_up(request: Request, session: Session, key: str) -> Principal:
    """The key's principal from the database; unknown keys are limited per client address (checked before the
    lookup: a guesser learns nothing once refused)."""
    settings = get_settings()
    failures: TokenBuckets = request.app.state.failed_auth
    address, allowed = request.client.host if request.client else "unknown", settings.auth_failures_per_minute
    failures.take(address, rate_per_minute=allowed, spend=False, why=FAILED_AUTH)
    principal = repository.principal_for_key(session, key=key)
    if principal is None:
        failures.take(address, rate_per_minute=allowed, why=FAILED_AUTH)
        raise Unauthenticated("the key is unknown or revoked")
    return principal


def _presented(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise Unauthenticated("this route needs 'Authorization: Bearer <key>'; make a key with `gradyard keys create`")
    return credentials.credentials


def authenticate(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller of a protected route, from `Authorization: Bearer <key>` (everyone, when auth is off)."""
    settings = get_settings()
    if settings.auth == "off":
        return LOCAL
    principal = _look_up(request, session, _presented(credentials))
    RATE.take(principal.user_id or principal.name, rate_per_minute=settings.rate_limit_per_minute)
    return principal


_trusted: Lru[str, tuple[Principal, float]] = Lru(CACHED_KEYS)


def _look_up_alone(request: Request, key: str) -> Principal:
    with session_scope() as session:
        return _look_up(request, session, key)


async def authenticate_cached(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """`authenticate` for the hot routes: a key found valid in the last KEY_TRUST_SECONDS is not looked up again,
    and a known key costs no thread hop and no query (the request rate is still counted on every request)."""
    settings = get_settings()
    if settings.auth == "off":
        return LOCAL
    key = _presented(credentials)
    digest = hash_key(key)  # the cache keeps no key itself
    trusted, now = _trusted.get(digest), time.monotonic()
    if trusted is not None and trusted[1] > now:
        principal = trusted[0]
    else:
        principal = await run_in_threadpool(_look_up_alone, request, key)
        _trusted.put(digest, (principal, now + KEY_TRUST_SECONDS))
    RATE.take(principal.user_id or principal.name, rate_per_minute=settings.rate_limit_per_minute)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_auth_setting(settings: Settings) -> None:
    """Refuse GRADYARD_AUTH=off unless the API listens on loopback; say loudly when it is off."""
    if settings.auth == "on":
        return
    if not is_loopback(settings.host):
        raise RuntimeError(
            f"GRADYARD_AUTH=off is refused while the API listens on {settings.host}: "
            "it is accepted only on a loopback address (127.0.0.1, ::1, localhost)"
        )
    log.warning("auth is OFF: anyone who can reach %s:%s may submit and read every job", settings.host, settings.port)
