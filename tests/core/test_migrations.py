"""The Alembic migrations build exactly the schema the ORM models describe, on SQLite and PostgreSQL, and carry
the data across."""

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from alembic import command
from core.db import make_engine
from core.migrate import ALEMBIC_INI
from core.tables import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = Config(str(ALEMBIC_INI))
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def test_0005_moves_admin_rights_from_users_to_each_of_their_keys_and_back(database_url: str) -> None:
    _migrate(database_url, "0004", down=True)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for user, admin in (("u-root", True), ("u-alice", False)):
            connection.execute(
                text("INSERT INTO app_user (id, name, is_admin, created_at) VALUES (:id, :id, :admin, :now)"),
                {"id": user, "admin": admin, "now": now},
            )
        for key, user, revoked in (
            ("k-root-1", "u-root", None),
            ("k-root-2", "u-root", now),
            ("k-alice", "u-alice", None),
        ):
            connection.execute(
                text(
                    "INSERT INTO api_key (id, user_id, prefix, key_hash, created_at, revoked_at)"
                    " VALUES (:id, :user, 'gy_', :id, :now, :revoked)"
                ),
                {"id": key, "user": user, "now": now, "revoked": revoked},
            )
    _migrate(database_url, "head")
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT id, is_admin FROM api_key")).tuples().all())
    assert keys == {"k-root-1": True, "k-root-2": True, "k-alice": False}  # every key of an admin stays one
    _migrate(database_url, "0004", down=True)
    with engine.connect() as connection:
        users = dict(connection.execute(text("SELECT id, is_admin FROM app_user")).tuples().all())
    engine.dispose()
    assert users == {"u-root": True, "u-alice": False}


def test_an_upgrade_from_0002_keeps_every_job_point_and_event(database_url: str) -> None:
    # 0003 and later alter `job` by copying it on SQLite; with foreign keys on, dropping the old copy deleted every
    # metric point and state-log row that pointed at it.
    _migrate(database_url, "0002", down=True)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO job (id, name, status, spec, attempt, cancel_requested, epoch, step, summary, created_at,"
                " restarts) VALUES ('j1', 'old', 'succeeded', '{}', 1, false, 2, 2, '{}', :now, 0)"
            ),
            {"now": now},
        )
        for step in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO metric_point (job_id, name, step, epoch, value, time)"
                    " VALUES ('j1', 'train_loss', :step, :step, 0.5, 0.1)"
                ),
                {"step": step},
            )
        connection.execute(
            text("INSERT INTO job_event (job_id, at, status, attempt) VALUES ('j1', :now, 'succeeded', 1)"),
            {"now": now},
        )
    _migrate(database_url, "head")
    with engine.connect() as connection:
        counts = [
            connection.execute(text(f"SELECT count(*) FROM {table} WHERE job_id = 'j1'")).scalar_one()
            for table in ("metric_point", "job_event")
        ]
        jobs = connection.execute(text("SELECT count(*) FROM job")).scalar_one()
    engine.dispose()
    assert (jobs, *counts) == (1, 2, 1)
