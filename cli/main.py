"""The `gradyard` command: migrations, the API, a worker, and `up`, the whole single-machine stack."""

import contextlib
import logging
import os
import signal
import sys
from typing import Annotated

import typer

from cli import client_commands, model_commands, pool_commands, sweep_commands
from cli.datasets_commands import app as datasets_app
from cli.keys import keys_app
from cli.redis_server import RedisStartError, start_redis
from cli.supervisor import Child, Supervisor
from core.logs import make_handler
from core.settings import VAR_DIR, embedded_redis_dir, get_settings

app = typer.Typer(
    name="gradyard",
    help="Train PyTorch models over REST and read their metric history as JSON.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(keys_app, name="keys")
app.add_typer(datasets_app, name="datasets")
log = logging.getLogger("gradyard")
client_commands.register(app)
model_commands.register(app)
sweep_commands.register(app)
pool_commands.register(app)

API_STOP_SECONDS = 10.0
# Celery's warm shutdown waits for the running job; past this the worker is killed and the job's heartbeat goes stale.
WORKER_STOP_SECONDS = 30.0
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}
IN_USE_HINT = "is another `gradyard up` running on this port? Give each instance its own PORT and GRADYARD_DATABASE_URL"


@app.callback()
def main() -> None:
    """Train PyTorch models over REST and read their metric history as JSON."""
    handler = make_handler(get_settings().log_format, rich=sys.stderr.isatty())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, at every start
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would bury the client verbs' output


@app.command()
def migrate() -> None:
    """Bring the database (GRADYARD_DATABASE_URL) to the newest schema."""
    from sqlalchemy.engine import make_url

    from core.migrate import upgrade_to_head

    url = get_settings().database_url
    log.info("migrating %s", make_url(url).render_as_string(hide_password=True))
    upgrade_to_head(url)
    log.info("the database is at the newest schema")


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Listen address (default: GRADYARD_HOST, else 127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="API port (default: GRADYARD_PORT, else 8000).")
    ] = None,
) -> None:
    """Serve the REST API with uvicorn."""
    import uvicorn

    # The app reads its own bind address from the settings (auth may be off only on loopback), so flags go there too.
    if host is not None:
        os.environ["GRADYARD_HOST"] = host
    if port is not None:
        os.environ["GRADYARD_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    from service.serving import server_options

    # log_config=None sends uvicorn's records through the Rich handler set up in `main`.
    uvicorn.run(
        "service.app:app", host=settings.host, port=settings.port, log_level="info", log_config=None, **server_options()
    )


@app.command()
def worker(
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery log level.")] = "INFO",
    pool: Annotated[
        str | None, typer.Option("--pool", help="The pool to join (default: GRADYARD_WORKER_POOL, else 'default').")
    ] = None,
) -> None:
    """Run one Celery worker (one process: one GPU, or the CPU) in its pool until it is stopped."""
    # Imported here: the API image has no torch, and nothing but this command may load the worker.
    from worker.main import exit_now, run_worker

    if pool is not None:
        os.environ["GRADYARD_WORKER_POOL"] = pool  # read with every other setting, and checked there
        get_settings.cache_clear()

    exit_now(run_worker(loglevel=loglevel))


@app.command()
def up(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="API port (default: $PORT, else GRADYARD_PORT, else 8000).")
    ] = None,
) -> None:
    """Run the single-machine stack: migrations, an embedded Redis, the API and one worker; Ctrl-C stops it all."""
    settings = get_settings()
    api_port = port or _port_from_env() or settings.port
    # SIGTERM during start-up unwinds like Ctrl-C, so the embedded Redis is never left behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        code = _run_stack(settings.host, api_port)
    except KeyboardInterrupt:
        log.info("interrupted while starting; stopped")
        code = 0
    except RedisStartError as exc:
        # One line that says what to do, not a traceback: the usual cause is a second instance on the same port.
        log.error("the embedded Redis did not start: %s", exc)
        code = 1
    raise typer.Exit(code)


def _run_stack(host: str, port: int) -> int:
    VAR_DIR.mkdir(exist_ok=True)
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if "GRADYARD_BROKER_URL" in os.environ:
            log.info("using the broker in GRADYARD_BROKER_URL; no embedded Redis")
        else:
            redis_dir = embedded_redis_dir(port).resolve()
            env["GRADYARD_BROKER_URL"] = stack.enter_context(start_redis(redis_dir, in_use_hint=IN_USE_HINT)).url
        migrate()
        _announce(host, port)
        # The children leave the `with` before Redis does: they are stopped inside run(), Redis on the way out.
        return Supervisor(_children(host, port), env=env).run()


def _children(host: str, port: int) -> list[Child]:
    command = [sys.executable, "-m", "cli"]
    return [
        Child(name="api", argv=[*command, "api", "--host", host, "--port", str(port)], stop_seconds=API_STOP_SECONDS),
        Child(name="worker", argv=[*command, "worker"], restart=True, stop_seconds=WORKER_STOP_SECONDS),
    ]


def _port_from_env() -> int | None:
    value = os.environ.get("PORT", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise typer.BadParameter(f"PORT must be a port number (1-65535), not {value!r}")
    return int(value)


def _announce(host: str, port: int) -> None:
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    log.info("gradyard API at %s, its docs at %s/docs; Ctrl-C stops everything", base, base)


if __name__ == "__main__":
    app()
