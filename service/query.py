"""Query parameters that several routes share, parsed once: the metric `names` list (metrics, events and plots)."""

from fastapi.exceptions import RequestValidationError

from core.metrics import METRIC_NAMES


def names_problem(wanted: list[str]) -> str | None:
    """Why these metric names cannot be served, or None when they can."""
    if not wanted:
        return "names is empty: give comma-separated metric names"
    unknown = [name for name in wanted if name not in METRIC_NAMES]
    if unknown:
        return f"unknown metric {', '.join(map(repr, unknown))}; known: {', '.join(METRIC_NAMES)}"
    return None


def wanted_names(names: str | None) -> list[str] | None:
    """The metrics a `names` query parameter asks for (None: all of them), each once; a 422 naming the unknown ones."""
    if names is None:
        return None
    wanted = list(dict.fromkeys(name.strip() for name in names.split(",") if name.strip()))
    if why := names_problem(wanted):
        raise RequestValidationError([{"loc": ("query", "names"), "msg": why, "type": "metric_unknown"}])
    return wanted
