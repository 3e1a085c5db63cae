"""RFC 9457 problem+json for every error the API returns, so no client ever sees a bare 500 page."""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.components import COMPONENTS, component_name
from core.errors import (
    IdempotencyConflict,
    InvalidCursor,
    JobNotFound,
    JobNotQueued,
    QuotaExceeded,
    RateLimited,
    SpecRejected,
    SweepNotFound,
    Unauthenticated,
)

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "urn:gradyard:problem:"
_COMPONENT_NAMES = {kind: {component_name(cls) for cls in classes} for kind, classes in COMPONENTS.items()}


class ProblemResponse(Response):
    """A problem+json body."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        """Encode with orjson (non-finite numbers become null)."""
        return orjson.dumps(content)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    """A problem+json response with the RFC 9457 members and, for validation, an `errors` list."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return ProblemResponse(body, status_code=status, headers=headers)


def _clean_loc(loc: Sequence[str | int]) -> list[str | int]:
    """Drop the union tag pydantic inserts after a component field: body.loss.mse.reduction -> body.loss.reduction."""
    items = list(loc)
    for i in range(len(items) - 1):
        names = _COMPONENT_NAMES.get(str(items[i]))
        if names and items[i + 1] in names:
            return items[: i + 1] + items[i + 2 :]
    return items


def _validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"loc": _clean_loc(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in raw]


def _on_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            400, "Malformed JSON", "the request body is not valid JSON", kind="malformed-json", errors=errors
        )
    where = ", ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:5])
    return problem(422, "Invalid request", where, kind="validation", errors=errors)


def _on_spec_rejected(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SpecRejected)
    errors = [{"loc": ["body", *p.loc], "msg": p.msg, "type": p.type} for p in exc.problems]
    return problem(422, "Spec cannot train", str(exc), kind="spec-incompatible", errors=errors)


def _on_not_found(_: Request, exc: Exception) -> Response:
    return problem(404, "Job not found", str(exc), kind="not-found")


def _on_sweep_not_found(_: Request, exc: Exception) -> Response:
    return problem(404, "Sweep not found", str(exc), kind="not-found")


def _on_bad_cursor(_: Request, exc: Exception) -> Response:
    errors = [{"loc": ["query", "cursor"], "msg": "not a cursor this server issued", "type": "cursor_invalid"}]
    return problem(
        422, "Invalid request", "query.cursor: not a cursor this server issued", kind="validation", errors=errors
    )


def _on_idempotency_conflict(_: Request, exc: Exception) -> Response:
    return problem(409, "Idempotency-Key reused", str(exc), kind="idempotency-conflict")


def _on_not_queued(_: Request, exc: Exception) -> Response:
    return problem(409, "Job not queued", str(exc), kind="not-queued")


def _on_quota(_: Request, exc: Exception) -> Response:
    return problem(429, "Too many active jobs", str(exc), kind="quota-exceeded", headers={"Retry-After": "30"})


def _on_unauthenticated(_: Request, exc: Exception) -> Response:
    return problem(401, "Unauthorized", str(exc), kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def _on_rate_limited(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    retry_after = str(exc.retry_after)
    return problem(429, "Too many requests", str(exc), kind="rate-limited", headers={"Retry-After": retry_after})


def _on_database_down(_: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", exc)
    return problem(
        503,
        "Database unavailable",
        "the database cannot be reached; retry shortly",
        kind="unavailable",
        headers={"Retry-After": "5"},
    )


def _on_http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # Every status gets its own title (a client's 400 is "Bad request", never a bare "Error").
    title = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}.get(
        exc.status_code, HTTPStatus(exc.status_code).phrase.capitalize()
    )
    return problem(
        exc.status_code, title, str(exc.detail), kind=title.lower().replace(" ", "-"), headers=dict(exc.headers or {})
    )


def _on_unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "the server failed; the error is logged", kind="internal")


class ProblemError(BaseModel):
    """One field-level problem: where it is and what to do about it."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every 4xx and 5xx."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


def install_problem_handlers(app: FastAPI) -> None:
    """Map every domain, validation and HTTP error to problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(SpecRejected, _on_spec_rejected)
    app.add_exception_handler(JobNotFound, _on_not_found)
    app.add_exception_handler(SweepNotFound, _on_sweep_not_found)
    app.add_exception_handler(InvalidCursor, _on_bad_cursor)
    app.add_exception_handler(IdempotencyConflict, _on_idempotency_conflict)
    app.add_exception_handler(JobNotQueued, _on_not_queued)
    app.add_exception_handler(QuotaExceeded, _on_quota)
    app.add_exception_handler(Unauthenticated, _on_unauthenticated)
    app.add_exception_handler(RateLimited, _on_rate_limited)
    app.add_exception_handler(OperationalError, _on_database_down)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
