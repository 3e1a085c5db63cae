"""Component names as a client may spell them: registry names, PyTorch class-name aliases, any case."""

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import PydanticCustomError

from core.components.base import Component, component_name


def either(names: Sequence[str]) -> str:
    """Quoted names as a person lists alternatives: 'a', 'b' or 'c'."""
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _name_table(classes: Sequence[type[Component]]) -> dict[str, str]:
    """Every accepted spelling of a component name (snake_case, alias, any case) -> its registry name."""
    table: dict[str, str] = {}
    for cls in classes:
        canonical = component_name(cls)
        for spelling in (canonical, *cls.aliases):
            table[spelling] = canonical
            table[spelling.lower()] = canonical
    return table


def name_normalizer(kind: str, plural: str, classes: Sequence[type[Component]]) -> Callable[[Any], Any]:
    """A before-validator that maps aliases to the registry name and refuses unknown names with close matches."""
    table = _name_table(classes)
    canonical = sorted(set(table.values()))

    def normalize(value: Any) -> Any:
        if isinstance(value, str):  # a bare name is shorthand for {"name": ...} with defaults
            value = {"name": value}
        if not isinstance(value, dict):
            raise PydanticCustomError("component_type", f"{kind} must be an object with a 'name'")
        name = value.get("name")
        if not isinstance(name, str):
            raise PydanticCustomError(
                "component_name_missing", f"{kind} needs a 'name', one of: {', '.join(canonical)}"
            )
        resolved = table.get(name) or table.get(name.lower())
        if resolved is None:
            close = difflib.get_close_matches(name.lower(), list(table), n=3, cutoff=0.6)
            suggestion = sorted({table[c] for c in close})
            hint = f"did you mean {either(suggestion)}? " if suggestion else ""
            raise PydanticCustomError(
                "unknown_component", f"unknown {kind} '{name}': {hint}known {plural}: {', '.join(canonical)}"
            )
        return {**value, "name": resolved}

    return normalize
