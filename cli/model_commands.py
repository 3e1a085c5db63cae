"""`gradyard model`, `bundle`, `predict` and `rerun`: a succeeded job's model out of the server, and back in."""

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn

from cli.client_commands import EXIT_BAD_INPUT, KeyOption, UrlOption, _reporting_errors, err, out
from cli.client_render import status_text
from client import Client
from client.models import CHUNK_ROWS, set_patch

PANEL = "Client (talks to a server)"


def _download_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=err, transient=True)


def model(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write [default: ID.safetensors or ID.onnx].")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="safetensors (the weights) or onnx (runs anywhere).")] = (
        "safetensors"
    ),
    which: Annotated[str, typer.Option(help="final, or best by the job's early-stopping metric.")] = "final",
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Download a succeeded job's model: its weights as safetensors, or an ONNX file with the preprocessing inside."""
    if fmt not in ("safetensors", "onnx") or which not in ("final", "best"):
        err.print("[red]error:[/] --format is safetensors or onnx, --which is final or best")
        raise typer.Exit(EXIT_BAD_INPUT)
    path = output or Path(f"{job_id}{'' if which == 'final' else '-best'}.{fmt}")
    with _reporting_errors(), Client(url, key) as client, _download_bar() as bar:
        task = bar.add_task(f"{path.name}", total=None)
        size = client.download_model(
            job_id,
            path,
            fmt="onnx" if fmt == "onnx" else "safetensors",
            which="best" if which == "best" else "final",
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out.print(f"wrote {path} ({size:,} bytes)")


def bundle(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write [default: ID.tar.gz].")] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Download everything a succeeded job leaves: model files, model.json, spec.json, metrics.csv, environment."""
    path = output or Path(f"{job_id}.tar.gz")
    with _reporting_errors(), Client(url, key) as client, _download_bar() as bar:
        task = bar.add_task(path.name, total=None)
        size = client.download_bundle(
            job_id, path, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    out.print(f"wrote {path} ({size:,} bytes)")


def _cell(text: str) -> Any:
    """A CSV field as JSON: empty is missing, a number is a number, true/false a boolean, anything else text."""
    if text == "":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _read_records(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as file:
        sample = file.read(65536)
        file.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
        return [
            {name: _cell(value or "") for name, value in row.items()} for row in csv.DictReader(file, dialect=dialect)
        ]


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def _write_predictions(answer: dict[str, Any], target: TextIO) -> None:
    """One CSV row per input row: its number, the prediction (labels joined by ';', vectors spread over columns) and
    each class's probability."""
    predictions = answer["predictions"]
    classes = answer.get("classes") or []
    probabilities = answer.get("probabilities")
    first = predictions[0] if predictions else None
    spread = isinstance(first, list) and not (first and isinstance(first[0], str)) and not classes
    width = len(list(_flatten(first))) if spread else 1
    header = ["row", *(f"prediction_{i}" for i in range(width))] if spread else ["row", "prediction"]
    if probabilities is not None:
        header += [f"p_{name}" for name in classes]
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(header)
    for number, prediction in enumerate(predictions):
        if spread:
            cells = list(_flatten(prediction))
        else:
            cells = [";".join(map(str, prediction)) if isinstance(prediction, list) else prediction]
        if probabilities is not None:
            cells += list(_flatten(probabilities[number]))
        writer.writerow([number, *cells])


def predict(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    rows: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A CSV with a header row naming the feature columns.")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV to write [default: stdout].")] = None,
    chunk: Annotated[int, typer.Option(min=1, max=100_000, help="Rows per request.")] = CHUNK_ROWS,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Predict with a succeeded job's model: rows of a CSV in, a CSV of predictions (and probabilities) out."""
    try:
        records = _read_records(rows)
    except (UnicodeDecodeError, csv.Error) as exc:
        err.print(f"[red]error:[/] {rows}: not a readable CSV ({exc})")
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    if not records:
        err.print(f"[red]error:[/] {rows}: no rows under the header")
        raise typer.Exit(EXIT_BAD_INPUT)
    columns = (TextColumn("predicting"), BarColumn(), MofNCompleteColumn())
    with _reporting_errors(), Client(url, key) as client, Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("rows", total=len(records))
        answer = client.predict(
            job_id, records, chunk_rows=chunk, progress=lambda done: bar.update(task, completed=done)
        )
    if output is None:
        _write_predictions(answer, sys.stdout)
        return
    with output.open("w", newline="", encoding="utf-8") as file:
        _write_predictions(answer, file)
    err.print(f"wrote {output} ({len(records):,} predictions)")


def rerun(
    job_id: Annotated[str, typer.Argument(help="The job to run again.")],
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", help="Change one field of the spec: path=value, e.g. optimizer.lr=0.01 (repeatable)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the new job's id.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Run a job again with the same resolved spec, seed and dataset, optionally with changes."""
    try:
        patch = set_patch(assignments or [])
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    with _reporting_errors(), Client(url, key) as client:
        job = client.rerun(job_id, patch or None)
    if quiet:
        out.print(job["id"])
    else:
        out.print(f"submitted {job['id']} ({job['name']}), a rerun of {job_id}: {status_text(job['status'])}")


def register(app: typer.Typer) -> None:
    """Add the model verbs to the `gradyard` command."""
    for command in (model, bundle, predict, rerun):
        app.command(rich_help_panel=PANEL)(command)
