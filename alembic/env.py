"""Alembic environment: metadata from core.tables, the engine from the settings (or a connection passed in)."""

from sqlalchemy import Connection

from alembic import context
from core.db import make_engine
from core.settings import get_settings
from core.tables import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it and dropping the old one; with foreign keys on, that drop deletes every
        # row pointing at the table (0003's copy of `job` emptied metric_point). The pragma only takes effect outside
        # a transaction, and no statement has run on this connection yet, so pysqlite has not begun one.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    """Migrate through a connection given by the caller, or one opened from GRADYARD_DATABASE_URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: give GRADYARD_DATABASE_URL a reachable database")
run_migrations_online()
