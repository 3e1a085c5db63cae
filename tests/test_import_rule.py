"""The one-way import rule of the design: service and worker import core; core imports neither; no torch in the API;
the client imports none of the server's packages."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "core": {"fastapi", "starlette", "torch", "torchvision", "service", "worker", "cli"},
    "service": {"torch", "torchvision", "worker", "cli", "sklearn", "numpy"},
    "worker": {"fastapi", "starlette", "service", "cli"},
    # The client talks HTTP only: it runs where none of the server's packages are wanted.
    "client": {
        "torch",
        "torchvision",
        "core",
        "service",
        "worker",
        "cli",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "celery",
    },
}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_the_design_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {file: names for file, names in offenders.items() if names} == {}


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import torch.nn as nn\nfrom worker.engine import train\nfrom . import sibling\n")
    assert _imported_roots(module) == {"torch", "worker"}
