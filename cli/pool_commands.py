"""`gradyard queue` (the queued jobs in run order, with why each waits) and `gradyard workers`, in 80 columns."""

import json
from typing import Annotated, Any

import typer

from cli.client_commands import KeyOption, UrlOption, _reporting_errors, out
from client import Client

PANEL = "Client (talks to a server)"
WIDTH = 80
JsonOption = Annotated[bool, typer.Option("--json", help="The server's items as JSON, for scripts.")]


def _fit(line: str) -> str:
    """The line cut to 80 columns."""
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "~"


def queue_lines(items: list[dict[str, Any]], *, with_pool: bool) -> list[str]:
    """The queue as text rows: position, job id prefix, pool (when mixed), user, priority, reason."""
    user_width = max([4, *(len(i["owner"] or "-") for i in items)])
    user_width = min(user_width, 12)
    pool = "pool      " if with_pool else ""
    lines = [f"pos  job       {pool}{'user':<{user_width}}  priority  reason"]
    for i in items:
        pool = f"{i['pool'][:8]:<8}  " if with_pool else ""
        owner = (i["owner"] or "-")[:user_width]
        priority = i["effective_priority"] if i["effective_priority"] == i["priority"] else f"{i['priority']}+"
        lines.append(f"{i['position']:>3}  {i['id'][:8]}  {pool}{owner:<{user_width}}  {priority:<8}  {i['reason']}")
    return [_fit(line) for line in lines]


def worker_lines(items: list[dict[str, Any]]) -> list[str]:
    """The workers as text rows: identity, pool, device, GPU memory, state, running job."""
    lines = ["worker                pool      device            GiB   state  job"]
    for w in items:
        memory = "-" if w["gpu_memory_bytes"] is None else f"{w['gpu_memory_bytes'] / 2**30:.0f}"
        state = "live" if w["live"] else "gone"
        job = (w["running_job_id"] or "-")[:8]
        lines.append(f"{w['id'][:20]:<20}  {w['pool'][:8]:<8}  {w['device'][:16]:<16}  {memory:>4}  {state:<5}  {job}")
    return [_fit(line) for line in lines]


def queue(
    pool: Annotated[str | None, typer.Option("--pool", help="Only this pool's jobs.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Queued jobs in the order they will run, with why each waits (a `+` after the priority: raised by ageing)."""
    with _reporting_errors(), Client(url, key) as client:
        items = client.queue(pool=pool)
    if as_json:
        out.print_json(json.dumps(items))
        return
    if not items:
        out.print("no queued jobs" + (f" in pool '{pool}'" if pool else ""))
        return
    for line in queue_lines(items, with_pool=pool is None):
        out.print(line, markup=False, soft_wrap=True)


def workers(as_json: JsonOption = False, url: UrlOption = None, key: KeyOption = None) -> None:
    """The registered workers (admin keys only): pool, device, GPU memory, live or gone, running job."""
    with _reporting_errors(), Client(url, key) as client:
        items = client.workers()
    if as_json:
        out.print_json(json.dumps(items))
        return
    for line in worker_lines(items):
        out.print(line, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the queue verbs to the `gradyard` command."""
    for command in (queue, workers):
        app.command(rich_help_panel=PANEL)(command)
