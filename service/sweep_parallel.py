"""A sweep's trials as parallel coordinates: an axis per sampled key (choices as categories, ranges on the linear or
log scale the space gives) and one for the objective, a line per trial coloured by its value, pruned trials grey."""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from core.sweeps.space import Choice, Const, IntRange, LogUniform, Param, SweepSpec
from service.plotting import DPI, ImageFormat, Size, _render
from service.sweep_schemas import TrialList

TICKS = 5
_BOX = {"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.5}
LABEL_CHARS = 14  # a choice's value may be any JSON: long ones are cut so the axes stay readable


@dataclass(frozen=True)
class Axis:
    """One vertical axis: its name, where a value sits on it (0 bottom, 1 top), and its labelled ticks."""

    name: str
    place: Callable[[Any], float | None]
    ticks: list[tuple[float, str]]


def _label(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _number(value: float) -> str:
    return f"{value:.3g}"


def _choice_axis(name: str, param: Choice) -> Axis:
    last = max(1, len(param.values) - 1)
    spots = [0.5] if len(param.values) == 1 else [i / last for i in range(len(param.values))]

    def place(value: Any) -> float | None:
        return spots[param.values.index(value)] if value in param.values else None

    return Axis(name, place, [(spot, _label(v)) for spot, v in zip(spots, param.values, strict=True)])


def _range_axis(name: str, low: float, high: float, *, log: bool, whole: bool) -> Axis:
    """A linear or log axis from low to high (whole: integer ticks only)."""
    a, b = (math.log10(low), math.log10(high)) if log else (low, high)

    def place(value: Any) -> float | None:
        if not isinstance(value, int | float) or (log and value <= 0):
            return None
        x = math.log10(value) if log else float(value)
        return 0.5 if b == a else (x - a) / (b - a)

    marks = [a + (b - a) * i / (TICKS - 1) for i in range(TICKS)]
    if log and b - a >= 2:  # whole decades read better than 0.0595
        marks = [a, *range(math.ceil(a + 0.25), math.floor(b - 0.25) + 1), b]
    values = [10**m if log else m for m in marks]
    if whole:
        values = sorted({round(v) for v in values})
    ticks = {p: _number(v) for v in values if (p := place(v)) is not None}
    return Axis(name, place, sorted(ticks.items()))


def _axis(name: str, param: Param) -> Axis | None:
    match param:
        case Choice():
            return _choice_axis(name, param)
        case IntRange():
            return _range_axis(name, param.low, param.high, log=param.log, whole=True)
        case LogUniform():
            return _range_axis(name, param.low, param.high, log=True, whole=False)
        case Const():
            return None
    return _range_axis(name, param.low, param.high, log=False, whole=False)


def _lines(axes_list: list[Axis], board: TrialList) -> list[tuple[list[float], float, bool]]:
    """Each trial with a value: its place on every axis, its value and whether it was pruned."""
    drawn = []
    for row in board.items:
        if row.value is None or any(a.name not in row.params for a in axes_list[:-1]):
            continue
        spots = [a.place(row.params[a.name]) for a in axes_list[:-1]] + [axes_list[-1].place(row.value)]
        if all(s is not None for s in spots):
            drawn.append(([float(s or 0.0) for s in spots], row.value, row.reason == "pruned"))
    return drawn


def _frame(axes: Axes, axes_list: list[Axis]) -> None:
    for x, axis in enumerate(axes_list):
        axes.axvline(x, color="black", linewidth=0.8)
        for y, text in axis.ticks:
            axes.plot([x - 0.02, x], [y, y], color="black", linewidth=0.8)
            axes.text(x + 0.03, y, text, fontsize=7, va="center", ha="left", parse_math=False, bbox=_BOX)
    axes.set_xticks(range(len(axes_list)), [a.name for a in axes_list], fontsize=8)
    crowded = len(axes_list) > 6  # long dotted names side by side overlap: slant them
    for label in axes.get_xticklabels():
        label.set_parse_math(False)
        if crowded:
            label.set(rotation=25, horizontalalignment="right", rotation_mode="anchor")
    axes.set_yticks([])
    axes.set_xlim(-0.15, len(axes_list) - 0.6)
    axes.set_ylim(-0.05, 1.05)
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)


def parallel_plot(*, title: str, spec: SweepSpec, board: TrialList, metric: str, size: Size, fmt: ImageFormat) -> bytes:
    """Parallel coordinates of the trials' values and objective, coloured by it (better is brighter); pruned grey."""
    figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.set_title(title, fontsize=11, parse_math=False)
    keys = [a for name, param in spec.space.items() if (a := _axis(name, param)) is not None]
    values = [row.value for row in board.items if row.value is not None]
    if not values:
        axes.set_axis_off()
        axes.text(0.5, 0.5, "no trial values yet", ha="center", va="center", transform=axes.transAxes, color="grey")
        return _render(figure, fmt)
    low, high = min(values), max(values)
    axes_list = [*keys, _range_axis(metric, low, high, log=False, whole=False)]
    cmap = "viridis" if spec.objective.mode == "max" else "viridis_r"
    colours = ScalarMappable(norm=Normalize(low, high if high > low else low + 1.0), cmap=cmap)
    lines = _lines(axes_list, board)
    # One collection per kind, not a plot call per trial: a thousand trials draw in a fraction of a second.
    pruned = [list(enumerate(spots)) for spots, _, was_pruned in lines if was_pruned]
    axes.add_collection(LineCollection(pruned, colors="lightgrey", linewidths=1.2, zorder=1))
    complete = [(list(enumerate(spots)), value) for spots, value, was_pruned in lines if not was_pruned]
    drawn = LineCollection([c for c, _ in complete], cmap=colours.cmap, norm=colours.norm, linewidths=1.2, zorder=2)
    drawn.set_array([value for _, value in complete])
    axes.add_collection(drawn)
    _frame(axes, axes_list)
    figure.colorbar(colours, ax=axes, pad=0.01).set_label(f"{metric} (grey: pruned)", fontsize=8)
    return _render(figure, fmt)
