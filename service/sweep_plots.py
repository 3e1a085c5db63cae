"""A sweep's history as a picture: each trial's objective by trial number (complete, pruned) and the best so far,
drawn headless with matplotlib's Agg renderer like the job plots."""

from matplotlib.figure import Figure

from service.plotting import DPI, ImageFormat, Size, _plain, _render
from service.sweep_schemas import TrialList


def history_plot(*, title: str, board: TrialList, metric: str, maximize: bool, size: Size, fmt: ImageFormat) -> bytes:
    """Trials' values by number (dots complete, crosses pruned) and the best complete value so far (a step line)."""
    figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    rows = sorted((row for row in board.items if row.value is not None), key=lambda row: row.trial)
    complete = [(r.trial, float(r.value or 0.0)) for r in rows if r.reason != "pruned"]
    pruned = [(r.trial, float(r.value or 0.0)) for r in rows if r.reason == "pruned"]
    if complete:
        axes.plot(*zip(*complete, strict=True), "o", label="complete", markersize=5)
        best: list[float] = []
        for _, value in complete:
            best.append(value if not best else (max if maximize else min)(best[-1], value))
        axes.step([t for t, _ in complete], best, where="post", label="best so far", linewidth=1.5)
    if pruned:
        axes.plot(*zip(*pruned, strict=True), "x", label="pruned", color="grey", markersize=5)
    axes.set_title(title, fontsize=11, parse_math=False)
    axes.set_xlabel("trial", fontsize=9, parse_math=False)
    axes.set_ylabel(metric, fontsize=9, parse_math=False)
    axes.grid(True, alpha=0.3)
    if rows:
        _plain(axes.legend(fontsize=8).get_texts())
    else:
        axes.text(0.5, 0.5, "no trial values yet", ha="center", va="center", transform=axes.transAxes, color="grey")
    return _render(figure, fmt)


def importance_plot(
    *, title: str, ranked: list[tuple[str, float]] | None, complete: int, metric: str, size: Size, fmt: ImageFormat
) -> bytes:
    """Each key's share of the importance for the objective as horizontal bars, the most important on top."""
    figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.set_title(title, fontsize=11, parse_math=False)
    if ranked is None:
        axes.set_axis_off()
        why = f"importance needs at least two complete trials ({complete} so far)"
        axes.text(0.5, 0.5, why, ha="center", va="center", transform=axes.transAxes, color="grey", parse_math=False)
        return _render(figure, fmt)
    order = list(reversed(ranked))  # barh draws from the bottom up
    spots = range(len(order))
    axes.barh(spots, [share for _, share in order], color="tab:blue")
    axes.set_yticks(spots, [key for key, _ in order], fontsize=8)
    _plain(axes.get_yticklabels())
    for y, (_, share) in zip(spots, order, strict=True):
        axes.text(share, y, f" {share:.0%}", va="center", fontsize=8)
    axes.set_xlim(0, 1.1)
    axes.set_xlabel(f"importance for {metric} (PED-ANOVA on {complete} complete trials)", fontsize=9, parse_math=False)
    axes.grid(True, axis="x", alpha=0.3)
    return _render(figure, fmt)
