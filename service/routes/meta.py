"""Service-level routes: the component catalog, liveness and readiness."""

import logging
from functools import lru_cache
from typing import Any

import orjson
from fastapi import APIRouter, Response

from core.catalog import build_catalog
from core.db import ping_database
from service.deps import get_celery
from service.openapi_parts import PROBLEM_MEDIA_TYPE, SCHEMAS
from service.problems import Problem, ProblemResponse, problem
from service.schemas import Catalog, Health

log = logging.getLogger(__name__)
router = APIRouter(tags=["service"])  # public: liveness and readiness
catalog_router = APIRouter(tags=["catalog"])


@lru_cache
def _catalog() -> dict[str, list[dict[str, Any]]]:
    return build_catalog()


# Documented as the model but sent as built: an entry without inputs has no `inputs` member rather than a null.
@catalog_router.get("/catalog", response_model=None, responses={200: {"model": Catalog, "description": "The catalog."}})
def read_catalog() -> dict[str, list[dict[str, Any]]]:
    """Every dataset, model, loss, optimizer and scheduler, with its parameters, defaults and bounds."""
    return _catalog()


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


def _check_database() -> str:
    try:
        ping_database()
        return "ok"
    except Exception as exc:  # any failure means not ready; the reason goes to the log
        log.warning("readiness: database: %s", exc)
        return "unreachable"


def _check_broker() -> str:
    try:
        with get_celery().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # any failure means not ready; the reason goes to the log
        log.warning("readiness: broker: %s", exc)
        return "unreachable"


class NotReady(Problem):
    """A problem+json that also says how each dependency answered."""

    checks: dict[str, str]


def _not_ready_schema() -> dict[str, Any]:
    # Its $defs (ProblemError) are the document's components already (service.openapi): refer there.
    schema = NotReady.model_json_schema(ref_template=SCHEMAS + "{model}")
    schema.pop("$defs", None)
    return schema


NOT_READY = {
    "description": "Not ready: `detail` names what cannot be reached; `checks` says how each dependency answered.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": _not_ready_schema()}},
}


@router.get("/readyz", response_model=Health, responses={503: NOT_READY})
def readyz() -> Response | Health:
    """Readiness: the database and the broker are reachable; a 503 problem+json names the one that is not."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    down = [name for name, value in checks.items() if value != "ok"]
    if not down:
        return Health(status="ok", checks=checks)
    answer = problem(503, "Not ready", f"cannot reach the {' and the '.join(down)}", kind="not-ready")
    # The same body with `checks` beside the RFC 9457 members, for whoever read them from the earlier Health body.
    body = orjson.loads(answer.body) | {"checks": checks}
    return ProblemResponse(body, status_code=503, headers={"Retry-After": "5"})
