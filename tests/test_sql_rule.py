"""The design's SQL rule: every SQL statement lives in core/repository/; routes, tasks and the CLI call its named
functions. Only the database plumbing (the engine and its readiness ping, the migration runner) may build SQL too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "service", "worker", "cli", "client")
SQL_BUILDERS = {"select", "insert", "update", "delete", "text"}
ALLOWED = ("core/repository/", "core/db.py", "core/migrate.py")


def sql_builders_used(path: Path) -> set[str]:
    """The SQL statement builders a module takes from SQLAlchemy: imported by name, or reached through the module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    modules: set[str] = set()  # names bound to sqlalchemy or one of its submodules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found |= {alias.name for alias in node.names} & SQL_BUILDERS
            modules |= {alias.asname or alias.name for alias in node.names if alias.name not in SQL_BUILDERS}
        elif isinstance(node, ast.Import):
            modules |= {
                alias.asname or alias.name.split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] == "sqlalchemy"
            }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SQL_BUILDERS:
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.add(node.attr)
    return found


def _modules() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def test_sql_is_built_only_in_the_repository_and_the_database_plumbing() -> None:
    offenders = {
        name: sorted(used)
        for path in _modules()
        if not (name := path.relative_to(ROOT).as_posix()).startswith(ALLOWED) and (used := sql_builders_used(path))
    }
    assert offenders == {}


def test_the_repository_is_where_the_rule_finds_sql() -> None:
    # A rule that finds nothing anywhere would pass for the wrong reason.
    assert sql_builders_used(ROOT / "core/repository/jobs.py") >= {"select", "update", "delete"}


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select, func\n",
        "from sqlalchemy.dialects.postgresql import insert\n",
        "import sqlalchemy as sa\nquery = sa.update(Job)\n",
        "import sqlalchemy\nsqlalchemy.sql.text('SELECT 1')\n",
        "from sqlalchemy import sql\nsql.delete(Job)\n",
    ],
)
def test_the_rule_catches_an_offender(tmp_path: Path, source: str) -> None:
    module = tmp_path / "m.py"
    module.write_text(source)
    assert sql_builders_used(module)


def test_the_rule_lets_other_sqlalchemy_names_pass(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from sqlalchemy.orm import Session\nfrom sqlalchemy.exc import OperationalError\n")
    assert sql_builders_used(module) == set()
