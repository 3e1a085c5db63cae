"""The catalog that GET /catalog serves, generated from the same component models the spec validates with."""

from typing import Any

from core.components import COMPONENTS, PLURAL, Component, component_name


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local $ref replaced by its definition, so each entry stands alone."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline_refs(value, defs) for key, value in node.items() if key not in ("title", "discriminator")}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


def _entry(cls: type[Component]) -> dict[str, Any]:
    schema = cls.model_json_schema()
    defs = schema.get("$defs", {})
    parameters = {
        key: _inline_refs(value, defs) for key, value in schema.get("properties", {}).items() if key != "name"
    }
    entry = {
        "name": component_name(cls),
        "aliases": list(cls.aliases),
        "description": (cls.__doc__ or "").strip(),
        "tasks": list(cls.tasks),
        "parameters": parameters,
    }
    if cls.inputs:
        entry["inputs"] = list(cls.inputs)
    return entry


def build_catalog() -> dict[str, list[dict[str, Any]]]:
    """Every component kind -> its entries (name, aliases, description, tasks, parameters with defaults and bounds)."""
    return {PLURAL[kind]: [_entry(cls) for cls in classes] for kind, classes in COMPONENTS.items()}
