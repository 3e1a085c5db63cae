"""The FastAPI application."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from core import repository
from core.db import session_scope
from core.repository.endings import SettledEndings
from core.settings import get_settings
from service.auth import TokenBuckets, authenticate, check_auth_setting
from service.body_limits import BodyLimits
from service.dataset_problems import install_dataset_problems
from service.http_hygiene import HttpHygiene
from service.http_metrics import HttpMetrics, HttpStats
from service.model_problems import install_model_problems
from service.openapi import document_api, unique_id
from service.plot_renderer import PlotRenderer
from service.problems import install_problem_handlers
from service.request_guard import RequestGuard
from service.routes import (
    dashboard,
    datasets,
    docs,
    events,
    jobs,
    meta,
    metrics,
    models,
    plots,
    predictions,
    prometheus,
    queue,
    sweeps,
)

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
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Check the auth setting and make the first admin key before serving; own the plot renderer's threads; keep
    start-up's objects out of the cyclic collector's way while serving."""
    settings = get_settings()
    check_auth_setting(settings)
    if settings.auth == "on":
        print_first_admin_key()
    app.state.plots = PlotRenderer.from_settings(settings)
    # What start-up made (modules, the app, the libraries' tables) lives as long as the process: out of the cyclic
    # collector's way, a full collection walks only what requests made. A 1,000-row JSON prediction makes ~10,000
    # lists, enough to set one off; it took ~200 ms when it walked everything (bench-predict's p95).
    gc.freeze()
    try:
        yield
    finally:
        app.state.plots.close()
        gc.unfreeze()


def create_app() -> FastAPI:
    """The API with its routes, its body limits and problem+json error mapping; every route but PUBLIC_PATHS needs a
    key."""
    app = FastAPI(
        title="gradyard",
        version="0.1.0",
        summary="Train PyTorch models over REST; read their metric history as JSON, live.",
        lifespan=lifespan,
        generate_unique_id_function=unique_id,
        docs_url=None,  # served by routes.docs from local files, not a CDN
        redoc_url=None,
    )
    app.state.failed_auth = TokenBuckets()  # per app: unknown-key attempts per client address
    install_problem_handlers(app)
    document_api(app)
    install_dataset_problems(app)
    install_model_problems(app)
    app.add_middleware(BodyLimits)
    app.add_middleware(RequestGuard)
    app.add_middleware(HttpHygiene)  # its headers go on every answer, the guards' refusals too
    app.state.http_stats = HttpStats()  # per app: GET /metrics reads it
    app.state.settled_endings = SettledEndings()  # per app: long-ended jobs, counted once
    app.add_middleware(HttpMetrics, stats=app.state.http_stats)  # outermost: counts every answer, refusals too
    keyed = [Depends(authenticate)]
    app.include_router(jobs.router, dependencies=keyed)
    app.include_router(datasets.router, dependencies=keyed)
    app.include_router(metrics.router, dependencies=keyed)
    app.include_router(models.router, dependencies=keyed)
    app.include_router(predictions.router)  # keyed by its own route: authenticate_cached
    app.include_router(events.router, dependencies=keyed)
    app.include_router(meta.catalog_router, dependencies=keyed)
    app.include_router(meta.router)
    app.include_router(plots.router, dependencies=keyed)
    app.include_router(sweeps.router, dependencies=keyed)
    app.include_router(prometheus.router)  # keyed by its own route: it needs the principal (admin only)
    app.include_router(queue.router, dependencies=keyed)
    app.include_router(dashboard.router)
    app.include_router(docs.router)
    dashboard.mount_static(app)
    docs.mount_assets(app)
    return app


app = create_app()
