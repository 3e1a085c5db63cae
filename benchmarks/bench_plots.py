"""How long the plot routes take to draw: a job's curves and a comparison, by history length and format.

Run: .venv/bin/python benchmarks/bench_plots.py   (no server, no database: the drawing alone, as the route does it)
"""

import math
import statistics
import time
from collections.abc import Callable
from functools import partial

from core.metrics import Series, downsample
from service.plotting import ImageFormat, Size, compare_plot, job_plot
from service.routes.plots import PLOT_POINTS

NAMES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr")


def history(epochs: int) -> dict[str, Series]:
    """A classification job's five series, one point per epoch, shaped like real curves."""
    series = {}
    for name in NAMES:
        rows = []
        for epoch in range(1, epochs + 1):
            value = (
                0.01 if name == "lr" else (math.exp(-epoch / epochs * 5) if "loss" in name else 1 - math.exp(-epoch))
            )
            rows.append((epoch, epoch, value, epoch * 0.01))
        series[name] = Series.of(rows)
    return series


def median_ms(draw: Callable[[], bytes], repeat: int = 5) -> float:
    """The median wall time of `repeat` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        draw()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def draw_job(full: dict[str, Series], fmt: ImageFormat) -> bytes:
    """What GET /jobs/{id}/plot.FMT does after reading the points: downsample, then draw every panel."""
    points = {name: downsample(s, PLOT_POINTS) for name, s in full.items()}
    return job_plot(title="bench", series=points, names=list(NAMES), size=Size(800, 760), fmt=fmt, log=False)


def main() -> None:
    """Print one line per case."""
    draw_job(history(10), "png")  # warm-up: fonts and caches
    for epochs in (100, 5_000, 100_000):
        full = history(epochs)
        for fmt in ("png", "svg"):  # type: ImageFormat
            ms = median_ms(partial(draw_job, full, fmt))
            print(f"job plot, {epochs:>7} epochs x {len(NAMES)} metrics, {fmt}: {ms:7.1f} ms")
    lines = [(f"job {i}", downsample(history(5_000)["val_loss"], PLOT_POINTS)) for i in range(12)]
    ms = median_ms(partial(compare_plot, metric="val_loss", lines=lines, size=Size(800, 450), fmt="png", log=False))
    print(f"compare plot, 12 jobs x 5000 epochs, png: {ms:7.1f} ms")


if __name__ == "__main__":
    main()
