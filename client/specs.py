"""Job spec files: YAML (`.yaml`, `.yml`) or JSON (`.json`), one spec per file."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

from client.errors import SpecFileError

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


class SpecLoader(yaml.SafeLoader):
    """Safe YAML that reads `1e-3` as a number, as JSON and YAML 1.2 do (YAML 1.1: text, which the spec refuses)."""


SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_spec(path: Path) -> dict[str, Any]:
    """The spec in a file, as a dict ready to POST; SpecFileError says what is wrong with the file."""
    if path.suffix.lower() not in SPEC_SUFFIXES:
        raise SpecFileError(f"{path}: a spec file ends in {', '.join(SPEC_SUFFIXES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        spec = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=SpecLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecFileError(f"{path} does not parse: {exc}") from exc
    if not isinstance(spec, dict):
        raise SpecFileError(
            f"{path}: a spec is a mapping (dataset, model, loss, optimizer, ...), not {type(spec).__name__}"
        )
    return spec
