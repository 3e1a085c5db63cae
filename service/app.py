"""The FastAPI application."""

import logging

from fastapi import FastAPI

from service.problems import install_problem_handlers
from service.routes import jobs, meta, metrics

log = logging.getLogger(__name__)


def create_app() -> FastAPI:
    """The API with its routes and problem+json error mapping."""
    app = FastAPI(
        title="gradyard",
        version="0.1.0",
        summary="Train PyTorch models over REST; read their metric history as JSON, live.",
    )
    install_problem_handlers(app)
    app.include_router(jobs.router)
    app.include_router(metrics.router)
    app.include_router(meta.router)
    return app


app = create_app()
