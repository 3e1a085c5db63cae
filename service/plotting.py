"""Pictures of metric histories, drawn headless with matplotlib's Agg renderer (no pyplot: its global state is not
thread-safe, and routes run in a thread pool)."""

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from core.metrics import Series

ImageFormat = Literal["png", "svg"]
DPI = 100
# Metrics that share a unit share a panel: the loss curves train vs validation together, as people compare them.
PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loss", ("train_loss", "val_loss")),
    ("accuracy", ("train_accuracy", "val_accuracy")),
    ("error", ("val_mae", "val_rmse")),
    ("learning rate", ("lr",)),
)


@dataclass(frozen=True)
class Size:
    """An image size in pixels."""

    width: int
    height: int


def panels_for(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """The panels that show these metrics, in the fixed panel order, each with the names it draws."""
    wanted = set(names)
    return [(title, [n for n in members if n in wanted]) for title, members in PANELS if wanted & set(members)]


def _values(series: Series, log: bool) -> list[float]:
    """Values with gaps (NaN) where a value is missing, non-finite, or not drawable on a log axis."""
    return [math.nan if not math.isfinite(v) or (log and v <= 0) else v for v in series.value.tolist()]


def _plain(texts: Iterable[Text]) -> None:
    """Draw these texts as typed: a job name like `$x^2$` or `a$b$c` is a label, never mathtext to parse."""
    for text in texts:
        text.set_parse_math(False)


def _draw(axes: Axes, lines: list[tuple[str, Series]], *, title: str, log: bool) -> None:
    drawn = False
    for label, series in lines:
        if len(series):
            axes.plot(
                series.epoch,
                _values(series, log),
                label=label,
                linewidth=1.5,
                marker="." if len(series) < 30 else None,
            )
            drawn = True
    axes.set_title(title, fontsize=10, parse_math=False)
    axes.set_xlabel("epoch", fontsize=9, parse_math=False)
    axes.grid(True, alpha=0.3)
    if not drawn:
        axes.text(0.5, 0.5, "no points yet", ha="center", va="center", transform=axes.transAxes, color="grey")
        return
    if log:
        axes.set_yscale("log")
    _plain(axes.legend(fontsize=8).get_texts())


def _render(figure: Figure, fmt: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=DPI)
    return buffer.getvalue()


def job_plot(
    *, title: str, series: dict[str, Series], names: list[str], size: Size, fmt: ImageFormat, log: bool
) -> bytes:
    """One panel per family of the chosen metrics (loss, accuracy, error, learning rate), stacked, x = epoch."""
    panels = panels_for(names) or [("loss", ["train_loss"])]
    figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI, layout="constrained")
    figure.suptitle(title, fontsize=11, parse_math=False)
    for axes, (panel_title, members) in zip(figure.subplots(len(panels), 1, squeeze=False)[:, 0], panels, strict=True):
        _draw(axes, [(name, series.get(name, Series())) for name in members], title=panel_title, log=log)
    return _render(figure, fmt)


def compare_plot(*, metric: str, lines: list[tuple[str, Series]], size: Size, fmt: ImageFormat, log: bool) -> bytes:
    """One metric of several jobs on one chart, a line per job, x = epoch."""
    figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI, layout="constrained")
    _draw(figure.subplots(), lines, title=metric, log=log)
    return _render(figure, fmt)
