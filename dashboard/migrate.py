"""Schema migrations (Alembic, `dashboard/migrations/`): a database made by any earlier
version is upgraded in place, every row kept.

A database made before migrations existed has no `alembic_version` table; it is
recognised by its tables (the first release's schema is revision 0001) and stamped
before upgrading.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Tables that tell which revision an unversioned database is at (newest first).
MARKERS = (("0002", "audit_log"), ("0001", "cases"))


def _config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _unversioned_revision(conn) -> str | None:
    tables = set(sa.inspect(conn).get_table_names())
    return next((revision for revision, marker in MARKERS if marker in tables), None)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (from, to)."""
    with engine.begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None:
            before = _unversioned_revision(conn)
            if before is not None:
                command.stamp(_config(conn), before)
        command.upgrade(_config(conn), "head")
    return before, head()


def stamp_head(engine: Engine) -> None:
    """Mark a schema made from the models (`Base.metadata.create_all`) as current."""
    with engine.begin() as conn:
        command.stamp(_config(conn), "head")
