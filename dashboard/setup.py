"""Creating and upgrading the database schema (no sample data here: the first run that
loads the sample city lives in `entrypoints.setup`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import auth, db
from dashboard.deadlines import seed_presets
from dashboard.models import users

FIRST_ADMIN = "admin"


class OutdatedDatabase(RuntimeError):
    """A database made by an older version of the product."""


class DatabaseNotEmpty(RuntimeError):
    """`init` on a database that already holds data, without --force."""


def bootstrap_admin(engine: Engine) -> str | None:
    """With no user at all, create the first administrator with a generated one-time
    password (to be changed at first sign-in) and return it; otherwise None."""
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one():
            return None
        password = auth.generate_password()
        auth.create_user(conn, FIRST_ADMIN, "admin", None, password, must_change=True, display_name="系统管理员")
    return password


def create_database(engine: Engine, *, force: bool = False) -> None:
    """Create the schema and the rule presets. Refuses a non-empty database unless
    `force`, in which case every table is dropped first."""
    if not db.is_empty(engine):
        if not force:
            raise DatabaseNotEmpty(
                "数据库中已有数据，未做任何修改。如确需重建，请加 --force（将删除现有全部数据）。"
            )
        db.drop_schema(engine)
    db.create_schema(engine)
    with engine.begin() as conn:
        seed_presets(conn)


def upgrade_database(engine: Engine) -> str | None:
    """An existing database: refuse one whose tables lack columns, add the tables made
    since, and create the first administrator if it has no user yet (returns the
    one-time password then)."""
    missing = db.missing_columns(engine)
    if missing:
        raise OutdatedDatabase(
            f"数据库结构是旧版本（缺少 {len(missing)} 个字段，如 {missing[0]}）。"
            "请备份后运行 `python -m dashboard init --sample --force` 重建示例库，或重新导入台账。"
        )
    db.create_schema(engine)  # tables added since the database was made
    with engine.begin() as conn:
        seed_presets(conn)
    return bootstrap_admin(engine)
