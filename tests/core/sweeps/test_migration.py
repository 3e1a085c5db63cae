"""Migration 0008 goes down and up again cleanly, on SQLite and PostgreSQL."""

from alembic.config import Config
from sqlalchemy import inspect

from alembic import command
from core.db import make_engine
from core.migrate import ALEMBIC_INI


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = Config(str(ALEMBIC_INI))
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _shape(url: str) -> tuple[bool, set[str]]:
    engine = make_engine(url)
    found = inspect(engine)
    shape = found.has_table("sweep"), {c["name"] for c in found.get_columns("job")}
    engine.dispose()
    return shape


def test_0008_adds_the_sweep_table_and_the_trial_columns_and_takes_them_away(database_url: str) -> None:
    _migrate(database_url, "0007", down=True)
    has_sweep, columns = _shape(database_url)
    assert not has_sweep and not {"sweep_id", "trial", "params"} & columns
    _migrate(database_url, "head")
    has_sweep, columns = _shape(database_url)
    assert has_sweep and {"sweep_id", "trial", "params"} <= columns
