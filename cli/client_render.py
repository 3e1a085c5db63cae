"""How the client verbs show things in a terminal: tables of jobs, metrics, summaries and the catalog."""

from datetime import datetime
from typing import Any

from rich import box
from rich.table import Table

from client import Job

STATUS_STYLE = {"queued": "yellow", "running": "cyan", "succeeded": "green", "failed": "red", "cancelled": "magenta"}
SUMMARY_ORDER = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_mae", "val_rmse", "lr")


def number(value: Any) -> str:
    """A metric value for people: 4 significant digits, '-' when missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def status_text(status: str) -> str:
    """The status in its colour."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def duration(job: Job) -> str:
    """How long the job ran (or has run so far): '1m 05s'; '-' before it starts."""
    started = _time(job.get("started_at"))
    if started is None:
        return "-"
    ended = _time(job.get("finished_at")) or datetime.now(started.tzinfo)
    seconds = max(0, int((ended - started).total_seconds()))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


BEST_OF = {"val_accuracy": "val acc", "val_loss": "val loss", "train_loss": "train loss"}


def best_validation(job: Job) -> str:
    """The best validation figure: accuracy where there is one, else the validation loss (else the training loss)."""
    metrics = job.get("metrics", {})
    for name, label in BEST_OF.items():
        if metrics.get(name, {}).get("best") is not None:
            return f"{number(metrics[name]['best'])} {label}"
    return "-"


def jobs_table(jobs: list[Job]) -> Table:
    """Jobs, newest first: id, name, status, components, progress, best validation metric, duration."""
    table = Table(title=f"{len(jobs)} jobs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "name", "status", "dataset / model / loss / optimizer", "epoch", "best", "ran"):
        # Only the components may wrap: ids, names and numbers are copied from here.
        table.add_column(column, no_wrap=not column.startswith("dataset"), overflow="fold")
    for job in jobs:
        spec, progress = job["spec"], job["progress"]
        components = " / ".join(spec[kind]["name"] for kind in ("dataset", "model", "loss", "optimizer"))
        table.add_row(
            job["id"],
            job["name"],
            status_text(job["status"]),
            components,
            f"{progress['epoch']}/{progress['epochs']}",
            best_validation(job),
            duration(job),
        )
    return table


def summary_table(job: Job) -> Table:
    """Each metric's last and best value and where the best was."""
    table = Table(title=f"{job['name']}: {status_text(job['status'])}", title_justify="left")
    for column in ("metric", "last", "best", "best step", "points"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    metrics = job.get("metrics", {})
    for name in sorted(metrics, key=lambda n: SUMMARY_ORDER.index(n) if n in SUMMARY_ORDER else len(SUMMARY_ORDER)):
        entry = metrics[name]
        table.add_row(
            name,
            number(entry.get("last")),
            number(entry.get("best")),
            number(entry.get("best_step")),
            str(entry["count"]),
        )
    return table


def latest_losses(job: Job) -> str:
    """The newest losses and the validation figure, for the progress line."""
    metrics = job.get("metrics", {})
    shown = [n for n in ("train_loss", "val_loss", "val_accuracy", "val_rmse") if n in metrics]
    return "  ".join(f"{name} {number(metrics[name].get('last'))}" for name in shown)


def rows_table(columns: list[str], rows: list[list[Any]]) -> Table:
    """A wide metric table: step, epoch, time and one column per metric."""
    table = Table()
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(number(value) for value in row))
    return table


def _bounds(parameter: dict[str, Any]) -> str:
    options = parameter.get("anyOf", [parameter])
    parts = []
    for option in options:
        low = [f">= {option['minimum']}"] if "minimum" in option else []
        low += [f"> {option['exclusiveMinimum']}"] if "exclusiveMinimum" in option else []
        high = [f"<= {option['maximum']}"] if "maximum" in option else []
        high += [f"< {option['exclusiveMaximum']}"] if "exclusiveMaximum" in option else []
        if "enum" in option:
            parts.append(" | ".join(map(str, option["enum"])))
        elif low or high:
            parts.append(", ".join(low + high))
    return "; ".join(parts)


def catalog_table(kind: str, entries: list[dict[str, Any]]) -> Table:
    """One kind of component: name, aliases, description and each parameter with its default and bounds."""
    table = Table(title=kind, title_justify="left", show_lines=True)
    for column in ("name", "parameters (default, bounds)", "description"):
        table.add_column(column)
    for entry in entries:
        parameters = [
            f"{name}={parameter.get('default', '(required)')!r}" + (f"  [{b}]" if (b := _bounds(parameter)) else "")
            for name, parameter in entry["parameters"].items()
        ]
        aliases = f"\n[dim]{', '.join(entry['aliases'])}[/]" if entry["aliases"] else ""
        table.add_row(entry["name"] + aliases, "\n".join(parameters) or "-", entry["description"])
    return table
