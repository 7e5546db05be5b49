"""Apply and inspect the schema migrations (Alembic, driven from code)."""

from __future__ import annotations

import pathlib

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.db import Database

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the hub's migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision``.

    SQLite changes a table by copying it, which fails while other tables' rows refer
    to it and foreign keys are enforced. SQLite's own procedure for that is followed:
    foreign keys off outside the transaction, checked before it commits, on again.
    """
    config = alembic_config(db.url)
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection if db.is_sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if raw is not None:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke references: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def head_revision(url: str) -> str | None:
    """The newest migration in the code."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(db: Database) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(db: Database) -> bool:
    """Whether the database schema is at the newest migration."""
    return current_revision(db) == head_revision(db.url)
