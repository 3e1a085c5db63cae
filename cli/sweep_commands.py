"""`gradyard sweep SPEC` (start a hyperparameter search, --follow for a live leaderboard) and `gradyard sweeps`."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.live import Live
from rich.table import Table

from cli.client_commands import EXIT_JOB_NOT_SUCCEEDED, KeyOption, UrlOption, _reporting_errors, out
from client import Client, load_spec

PANEL = "Client (talks to a server)"
LEADERBOARD_ROWS = 20


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def leaderboard(sweep: dict[str, Any], trials: list[dict[str, Any]]) -> Table:
    """The sweep's state and its best trials, as a table."""
    counts = ", ".join(f"{n} {status}" for status, n in sweep["trials"].items() if status != "total")
    metric = sweep["spec"]["objective"]["metric"]
    title = f"{sweep['name']}  {sweep['id']}  [bold]{sweep['state']}[/]  ({counts or 'no trials yet'})"
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for header in ("#", metric, "status", "epochs", "values", "job"):
        table.add_column(header)
    for t in trials[:LEADERBOARD_ROWS]:
        status = t["status"] if t["reason"] in (None, "cancelled") else f"{t['status']} ({t['reason']})"
        table.add_row(str(t["trial"]), _value(t["value"]), status, str(t["epoch"]), _params(t["params"]), t["job_id"])
    return table


def sweep(
    spec_file: Annotated[Path, typer.Argument(help="The sweep: YAML or JSON (base, space, objective, ...).")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Show the leaderboard live until the end.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Start a hyperparameter sweep; every trial is an ordinary job."""
    with _reporting_errors(), Client(url, key) as client:
        started = client.create_sweep(load_spec(spec_file))
        out.print(f"{started['id']}  {started['name']}: {started['trials']['total']} trial(s) queued")
        if not follow:
            return
        now = started
        with Live(leaderboard(started, []), console=out, auto_refresh=False) as live:
            for now, trials in client.follow_sweep(started["id"]):
                live.update(leaderboard(now, trials), refresh=True)
    if now["state"] != "succeeded":
        raise typer.Exit(EXIT_JOB_NOT_SUCCEEDED)


def sweeps(
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many of the newest.")] = 50,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Your sweeps, newest first, with their best trial."""
    with _reporting_errors(), Client(url, key) as client:
        items = client.sweeps(limit=limit)
    table = Table(box=box.SIMPLE_HEAD)
    for header in ("id", "name", "state", "trials", "objective", "best", "created"):
        table.add_column(header)
    for s in items:
        objective = f"{s['spec']['objective']['mode']} {s['spec']['objective']['metric']}"
        best = "-" if s["best"] is None else f"{s['best']['value']:.4g} (#{s['best']['trial']})"
        table.add_row(s["id"], s["name"], s["state"], str(s["trials"]["total"]), objective, best, s["created_at"][:19])
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the sweep verbs to the `gradyard` command."""
    for command in (sweep, sweeps):
        app.command(rich_help_panel=PANEL)(command)
