"""The catalog that GET /catalog serves, generated from the same component models the spec validates with."""

from typing import Any

from core.components import COMPONENTS, PLURAL, Component, component_name


def _entry(cls: type[Component]) -> dict[str, Any]:
    schema = cls.model_json_schema()
    parameters = {key: value for key, value in schema.get("properties", {}).items() if key != "name"}
    for parameter in parameters.values():
        parameter.pop("title", None)
    return {
        "name": component_name(cls),
        "aliases": list(cls.aliases),
        "description": (cls.__doc__ or "").strip(),
        "tasks": list(cls.tasks),
        "parameters": parameters,
    }


def build_catalog() -> dict[str, list[dict[str, Any]]]:
    """Every component kind -> its entries (name, aliases, description, tasks, parameters with defaults and bounds)."""
    return {PLURAL[kind]: [_entry(cls) for cls in classes] for kind, classes in COMPONENTS.items()}
