"""`gradyard datasets`: upload (with a progress bar), list, show (schema and preview), rm."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from cli.client_commands import KeyOption, UrlOption, _reporting_errors, out
from client import Client

app = typer.Typer(help="Upload your own data and manage it.", no_args_is_help=True)
TASKS = "regression, count_regression, binary_classification, multiclass_classification, multilabel_classification"


def _table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for header in ("id", "name", "format", "rows", "task", "target", "bytes", "created"):
        table.add_column(header)
    for d in items:
        row = (d["id"], d["name"], d["format"], f"{d['rows']:,}", d["task"], d["target"] or "-", f"{d['bytes']:,}")
        table.add_row(*row, d["created_at"][:19])
    return table


def _schema(dataset: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="columns")
    for header in ("column", "type", "missing", "role", "categories"):
        table.add_column(header)
    for c in dataset["columns"]:
        categories = ", ".join(c.get("categories") or [])
        table.add_row(c["name"], c["dtype"], str(c["nulls"]), c["role"], categories[:60])
    return table


def _preview(dataset: dict[str, Any]) -> Table:
    rows = dataset["preview"]
    table = Table(box=box.SIMPLE_HEAD, title="preview")
    for header in rows[0] if rows else []:
        table.add_column(str(header))
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row.values()))
    return table


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV/TSV(.gz), Parquet, NPZ, zip/tar.")],
    name: Annotated[str | None, typer.Option(help="A name for people [default: the file's name].")] = None,
    target: Annotated[str | None, typer.Option(help="The target column [default: the last].")] = None,
    task: Annotated[str | None, typer.Option(help=f"Override the task found: {TASKS}.")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Upload a file; prints the dataset's id, task and classes."""
    size = file.stat().st_size
    columns = (*Progress.get_default_columns()[:1], BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with _reporting_errors(), Client(url, key) as client, Progress(*columns, console=out, transient=True) as bar:
        sending = bar.add_task(f"uploading {file.name}", total=size)
        dataset = client.upload_dataset(
            file, name=name, target=target, task=task, progress=lambda sent: bar.update(sending, completed=sent)
        )
    classes = f", classes {', '.join(dataset['classes'][:10])}" if dataset["classes"] else ""
    out.print(f"{dataset['id']}  {dataset['name']}: {dataset['rows']:,} rows, {dataset['task']}{classes}")


@app.command("list")
def list_datasets(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many of the newest.")] = 50,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Your datasets, newest first."""
    with _reporting_errors(), Client(url, key) as client:
        out.print(_table(client.datasets(limit=limit)))


@app.command()
def show(
    dataset_id: Annotated[str, typer.Argument(help="The dataset's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the dataset as JSON.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """One dataset: its schema and a preview of its first rows."""
    with _reporting_errors(), Client(url, key) as client:
        dataset = client.dataset(dataset_id)
    if as_json:
        out.print_json(data=dataset)
        return
    out.print(f"[bold]{dataset['name']}[/]  {dataset['id']}  {dataset['format']}, {dataset['rows']:,} rows")
    out.print(f"task {dataset['task']}, target {dataset['target']}, sha256 {dataset['sha256']}")
    out.print(_schema(dataset))
    out.print(_preview(dataset))


@app.command("rm")
def remove(
    dataset_id: Annotated[str, typer.Argument(help="The dataset's id.")],
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Delete a dataset (refused while a queued or running job uses it)."""
    with _reporting_errors(), Client(url, key) as client:
        client.delete_dataset(dataset_id)
    out.print(f"deleted {dataset_id}")
