"""The client verbs of `gradyard`: submit, jobs, show, metrics, plot, cancel, catalog (over HTTP, via `client`)."""

import contextlib
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax

from cli.client_render import catalog_table, duration, jobs_table, rows_table, status_text, summary_table
from cli.follow import follow_job
from client import ApiError, Client, ClientError, ConfigError, SpecFileError, load_spec, wide_table

# Exit codes a script can rely on.
EXIT_OK = 0
EXIT_JOB_NOT_SUCCEEDED = 1  # submit --follow: the job failed or was cancelled
EXIT_BAD_INPUT = 2  # a wrong flag, spec file or config file (click uses 2 for usage errors too)
EXIT_REFUSED = 3  # the server refused the request (4xx): the message says why
EXIT_UNAVAILABLE = 4  # no answer from the server, or a server error (5xx)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Server URL [default: GRADYARD_URL, the config file, http://127.0.0.1:8000].", show_default=False
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="API key [default: GRADYARD_KEY, the config file, none].", show_default=False),
]
NamesOption = Annotated[str | None, typer.Option("--names", help="Comma-separated metric names (default: all).")]
KINDS = ("datasets", "models", "losses", "optimizers", "schedulers")


@contextlib.contextmanager
def _reporting_errors() -> Iterator[None]:
    """Turn client errors into a message on stderr and the exit code that says what kind of failure it was."""
    try:
        yield
    except (SpecFileError, ConfigError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    except ApiError as exc:
        err.print(f"[red]error:[/] {exc}")
        for line in exc.field_messages():
            err.print(f"  {line}")
        raise typer.Exit(EXIT_REFUSED if exc.status < 500 else EXIT_UNAVAILABLE) from exc
    except ClientError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_UNAVAILABLE) from exc


def _names(raw: str | None) -> list[str] | None:
    return None if raw is None else [name.strip() for name in raw.split(",") if name.strip()]


def submit(
    spec_file: Annotated[Path, typer.Argument(help="The job spec, YAML (.yaml, .yml) or JSON (.json).")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Show progress until the job ends.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the job id.")] = False,
    poll: Annotated[float, typer.Option(min=0.05, max=60, help="Seconds between polls with --follow.")] = 1.0,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Submit a job spec; with --follow, watch it train and exit 0 only if it succeeds."""
    with _reporting_errors(), Client(url, key) as client:
        job = client.submit(load_spec(spec_file))
        if quiet:
            out.print(job["id"])
        else:
            out.print(f"submitted {job['id']} ({job['name']}): {status_text(job['status'])}")
        if not follow:
            return
        job = follow_job(client, job, console=out, poll_seconds=poll)
    out.print(summary_table(job))
    if job["status"] != "succeeded":
        err.print(f"job {job['id']} {job['status']}" + (f": {job['error']}" if job.get("error") else ""))
        raise typer.Exit(EXIT_JOB_NOT_SUCCEEDED)


def jobs(
    status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many of the newest jobs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the jobs as JSON.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """List the newest jobs as a table."""
    with _reporting_errors(), Client(url, key) as client:
        found = client.jobs(status=status, limit=limit)
    if as_json:
        out.print_json(data=found)
    else:
        out.print(jobs_table(found))


def show(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """One job: status, progress, timestamps, its resolved spec and a summary of each metric."""
    with _reporting_errors(), Client(url, key) as client:
        job = client.get(job_id)
    if as_json:
        out.print_json(data=job)
        return
    progress = job["progress"]
    out.print(f"[bold]{job['name']}[/]  {job['id']}  {status_text(job['status'])}  attempt {job['attempt']}")
    out.print(f"epoch {progress['epoch']}/{progress['epochs']}, step {progress['step']}, ran {duration(job)}")
    for event in job.get("events") or []:
        why = " · ".join(str(event[k]) for k in ("reason", "detail") if event.get(k))
        by = f" (by {event['actor']})" if event.get("actor") else ""
        out.print(f"  {event['at']}  {status_text(event['status'])} attempt {event['attempt']}{by} {why}".rstrip())
    if job.get("error"):
        out.print(f"[red]error:[/] {job['error']}")
    out.print(Syntax(json.dumps(job["spec"], indent=2), "json", background_color="default"))
    out.print(summary_table(job))


def metrics(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    names: NamesOption = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV on stdout: step, epoch, time, one column per metric.")
    ] = False,
    max_points: Annotated[int | None, typer.Option(min=2, help="Downsample each series, keeping its shape.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """A job's metric history: a row per step, a column per metric."""
    with _reporting_errors(), Client(url, key) as client:
        history = client.metrics(job_id, names=_names(names), max_points=max_points)
    columns, rows = wide_table(history)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if value is None else value for value in row] for row in rows])
    else:
        out.print(rows_table(columns, rows))


def plot(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Image file, .png or .svg [default: ID.png].")
    ] = None,
    names: NamesOption = None,
    log: Annotated[bool, typer.Option("--log", help="Log-scale y axis.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Save a picture of a job's curves (the server draws it)."""
    path = output or Path(f"{job_id}.png")
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        err.print(f"[red]error:[/] {path}: the image file must end in .png or .svg")
        raise typer.Exit(EXIT_BAD_INPUT)
    with _reporting_errors(), Client(url, key) as client:
        image = client.plot(job_id, names=_names(names), fmt="png" if fmt == "png" else "svg", log=log)
    path.write_bytes(image)
    out.print(f"wrote {path} ({len(image)} bytes)")


def cancel(
    job_id: Annotated[str, typer.Argument(help="The job's id.")], url: UrlOption = None, key: KeyOption = None
) -> None:
    """Ask a job to stop: a queued job never starts, a running one stops at its next check."""
    with _reporting_errors(), Client(url, key) as client:
        job = client.cancel(job_id)
    out.print(f"{job['id']} ({job['name']}): {status_text(job['status'])}, cancel requested")


def catalog(
    kind: Annotated[str | None, typer.Argument(help=f"One of {', '.join(KINDS)} (default: all).")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Every component a spec may name, with its parameters, defaults and bounds."""
    wanted = (
        KINDS if kind is None else [k for k in KINDS if kind.lower() in (k, k.removesuffix("s"), k.removesuffix("es"))]
    )
    if not wanted:
        err.print(f"[red]error:[/] unknown kind '{kind}'; one of {', '.join(KINDS)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    with _reporting_errors(), Client(url, key) as client:
        entries = client.catalog()
    for name in wanted:
        out.print(catalog_table(name, entries[name]))


def register(app: typer.Typer) -> None:
    """Add the client verbs to the `gradyard` command."""
    for command in (submit, jobs, show, metrics, plot, cancel, catalog):
        app.command(rich_help_panel="Client (talks to a server)")(command)
