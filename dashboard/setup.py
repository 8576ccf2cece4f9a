"""Creating and upgrading the database schema (no sample data here: the first run that
loads the sample city lives in `entrypoints.setup`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import auth, db, migrate, summaries
from dashboard.deadlines import seed_presets
from dashboard.models import users

FIRST_ADMIN = "admin"
# Columns of older versions that must not survive an upgrade: meetings kept their
# secret seed in clear, so anyone who could read the database knew the draw beforehand.
OBSOLETE_COLUMNS = ("meetings.secret_seed",)


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
    """Create the schema (at the newest migration) and the rule presets. A database that
    holds data is refused unless `force`, in which case every table is dropped first."""
    if not db.is_empty(engine):
        if not force:
            raise DatabaseNotEmpty(
                "数据库中已有数据，未做任何修改。如确需重建，请加 --force（将删除现有全部数据）。"
            )
        db.drop_schema(engine)
    db.create_schema(engine)
    with engine.begin() as conn:
        seed_presets(conn)
        summaries.rebuild(conn)  # empty, and kept in step by every write from now on


def upgrade_database(engine: Engine) -> tuple[str | None, str, str | None]:
    """An existing database: migrate it in place to the newest schema (every row kept),
    add the rule presets, and create the first administrator if it has no user yet.
    Returns (revision before, revision now, the administrator's one-time password)."""
    try:
        before, after = migrate.upgrade(engine)
    except Exception as error:
        raise OutdatedDatabase(
            f"数据库升级失败（{type(error).__name__}），未做任何修改。请检查 DATABASE_URL 指向的是本系统的数据库；"
            "如是早期开发版建的示例库，可备份后运行 `python -m dashboard init --sample --force` 重建。"
        ) from error
    missing = db.missing_columns(engine)
    if missing:
        raise OutdatedDatabase(
            f"数据库结构无法识别（缺少 {len(missing)} 个字段，如 {missing[0]}），未做任何修改。"
            "如是早期开发版建的示例库，请备份后运行 `python -m dashboard init --sample --force` 重建，或重新导入台账。"
        )
    leftover = db.present_columns(engine, OBSOLETE_COLUMNS)
    if leftover:
        raise OutdatedDatabase(
            f"数据库结构无法识别（仍有已废弃的字段 {leftover[0]}：督查会的随机种子以明文保存）。"
            "请备份后运行 `python -m dashboard init --sample --force` 重建，或重新导入台账。"
        )
    with engine.begin() as conn:
        seed_presets(conn)
        summaries.ensure_current(conn)  # colors for today's date (days left change daily)
    return before, after, bootstrap_admin(engine)
