"""The FastAPI application."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from core import repository
from core.db import session_scope
from core.settings import get_settings
from service.auth import authenticate, check_auth_setting
from service.body_limits import BodyLimits
from service.dataset_problems import install_dataset_problems
from service.problems import install_problem_handlers
from service.routes import dashboard, datasets, events, jobs, meta, metrics, plots

log = logging.getLogger(__name__)
# The dashboard's page (/) and files (/static/...) are public too: the browser loads them before the user pastes a key,
# and they hold no data; every request they make for data carries the key like any client's.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/"})


def print_first_admin_key() -> None:
    """On the first start of an empty database, make an admin key and show it, once."""
    with session_scope() as session:
        issued = repository.issue_first_admin_key(session)
    if issued is not None:
        log.warning(
            "first start: created user 'admin' with this API key, shown only now; keep it: %s  "
            "(more keys: gradyard keys create --user NAME)",
            issued.key,
        )


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Check the auth setting and make the first admin key before serving."""
    settings = get_settings()
    check_auth_setting(settings)
    if settings.auth == "on":
        print_first_admin_key()
    yield


def create_app() -> FastAPI:
    """The API with its routes, its body limits and problem+json error mapping; every route but PUBLIC_PATHS needs a
    key."""
    app = FastAPI(
        title="gradyard",
        version="0.1.0",
        summary="Train PyTorch models over REST; read their metric history as JSON, live.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_dataset_problems(app)
    app.add_middleware(BodyLimits)
    keyed = [Depends(authenticate)]
    app.include_router(jobs.router, dependencies=keyed)
    app.include_router(datasets.router, dependencies=keyed)
    app.include_router(metrics.router, dependencies=keyed)
    app.include_router(events.router, dependencies=keyed)
    app.include_router(meta.catalog_router, dependencies=keyed)
    app.include_router(meta.router)
    app.include_router(plots.router, dependencies=keyed)
    app.include_router(dashboard.router)
    dashboard.mount_static(app)
    return app


app = create_app()
