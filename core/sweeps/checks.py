"""What makes a sweep refused before any trial exists, each problem naming its key; and how a trial's spec is made
from the base and the sampled values (the same function for both, so a checked corner is a spec a trial can get)."""

import copy
from typing import Any

from pydantic import ValidationError

from core.admission import check_spec
from core.errors import SpecProblem, SpecRejected
from core.facts import recorded_metrics
from core.settings import Settings
from core.spec import JobSpec
from core.sweeps.space import Choice, Const, SweepSpec, corners, numeric_ranges, single_point

_MISSING = object()


def _step(node: Any, segment: str) -> Any:
    """One segment of a dotted path: a key of an object, or an index of a list; _MISSING when there is none."""
    if isinstance(node, dict):
        return node.get(segment, _MISSING)
    if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
        return node[int(segment)]
    return _MISSING


def path_exists(spec: dict[str, Any], path: str) -> bool:
    """Whether a dotted path names a value of the (resolved) spec."""
    node: Any = spec
    for segment in path.split("."):
        node = _step(node, segment)
        if node is _MISSING:
            return False
    return True


def _put(raw: dict[str, Any], resolved: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in the spec as sent, taking from the resolved spec any object on the way it left out (so a
    value of a component the client left to its default keeps that component's name)."""
    *parents, last = path.split(".")
    node: Any = raw
    full: Any = resolved
    for segment in parents:
        full = _step(full, segment)
        child = _step(node, segment)
        if child is _MISSING:
            child = copy.deepcopy(full)
            node[int(segment) if isinstance(node, list) else segment] = child
        node = child
    node[int(last) if isinstance(node, list) else last] = value


def trial_body(sweep: SweepSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The job spec (as JSON) of a trial with these values, before validation."""
    raw = sweep.base.model_dump(mode="json", exclude_unset=True)
    resolved = sweep.base.model_dump(mode="json")
    for path, value in params.items():
        _put(raw, resolved, path, copy.deepcopy(value))
    return raw


def trial_spec(sweep: SweepSpec, params: dict[str, Any]) -> JobSpec:
    """A trial's validated job spec; ValidationError when these values make it invalid."""
    return JobSpec.model_validate(trial_body(sweep, params))


def _point_error(sweep: SweepSpec, point: dict[str, Any], settings: Settings) -> str | None:
    """Why the spec with these values cannot train, or None."""
    try:
        check_spec(trial_spec(sweep, point), settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"the job spec is invalid at {'.'.join(map(str, first['loc']))}: {first['msg']}"
    except SpecRejected as exc:
        return str(exc)
    return None


def _corner_problems(sweep: SweepSpec, point: dict[str, Any], settings: Settings) -> list[SpecProblem]:
    """The corner's problem, named by the first key whose value alone breaks the spec (else the first key)."""
    error = _point_error(sweep, point, settings)
    if error is None:
        return []
    key = next((k for k in point if _point_error(sweep, {k: point[k]}, settings) is not None), next(iter(point)))
    where = ", ".join(f"{k}={v!r}" for k, v in point.items())
    return [SpecProblem(("space", key), f"with {where}: {error}", "sweep_invalid_point")]


def sweep_problems(sweep: SweepSpec, settings: Settings) -> list[SpecProblem]:
    """Every reason this sweep cannot run, checked before it is stored (the base through the same admission as
    POST /jobs; the space's corners too)."""
    resolved = sweep.base.model_dump(mode="json")
    problems = [
        SpecProblem(("space", key), f"'{key}' is not a path in the job spec", "sweep_unknown_path")
        for key in sweep.space
        if not path_exists(resolved, key)
    ]
    if sweep.objective.metric not in recorded_metrics(sweep.base):
        known = ", ".join(recorded_metrics(sweep.base))
        msg = f"the base job does not record '{sweep.objective.metric}'; it records {known}"
        problems.append(SpecProblem(("objective", "metric"), msg, "sweep_unknown_metric"))
    if sweep.sampler == "grid":
        problems += [
            SpecProblem(("space", key), f"the grid sampler takes choices only; '{key}' is a range", "sweep_grid")
            for key, param in sweep.space.items()
            if not isinstance(param, Choice | Const)
        ]
    if sweep.sampler == "cmaes" and not numeric_ranges(sweep.space):
        msg = "the cmaes sampler adapts numeric ranges and this space has none: give a key a range, or use tpe or grid"
        problems.append(SpecProblem(("sampler",), msg, "sweep_cmaes"))
    if all(single_point(p) for p in sweep.space.values()):
        msg = "the space holds a single point: give a key a range or several choices, or submit one job"
        problems.append(SpecProblem(("space",), msg, "sweep_single_point"))
    if problems:
        return problems
    try:
        check_spec(sweep.base, settings)
    except SpecRejected as exc:  # the base itself cannot train: its problems, located under `base`
        return [SpecProblem(("base", *p.loc), p.msg, p.type) for p in exc.problems]
    return [p for point in corners(sweep.space) for p in _corner_problems(sweep, point, settings)][:10]


def check_sweep(sweep: SweepSpec, settings: Settings) -> None:
    """Raise SpecRejected naming each key at fault when the sweep cannot run."""
    problems = sweep_problems(sweep, settings)
    if problems:
        raise SpecRejected(problems)


__all__ = ["Const", "check_sweep", "path_exists", "sweep_problems", "trial_spec"]
