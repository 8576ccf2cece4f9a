"""Setting up a database: `init` and the app's first run (which loads the sample city)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from dashboard import config, db, models, summaries
from dashboard.deadlines import recompute
from dashboard.setup import (
    DatabaseNotEmpty,
    OutdatedDatabase,
    bootstrap_admin,
    create_database,
    upgrade_database,
)

__all__ = ["DatabaseNotEmpty", "OutdatedDatabase", "ensure_database", "initialise"]

Progress = Callable[[float, str], None]


def initialise(
    engine: Engine,
    *,
    sample: bool,
    cases: int = config.DEFAULT_SAMPLE_CASES,
    seed: int = config.DEFAULT_SAMPLE_SEED,
    force: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Create the schema (and load the sample city with its demo users). Refuses a
    non-empty database unless `force`. The first administrator's one-time password is
    in the summary (`admin_password`) when it was created now."""
    started = time.perf_counter()
    if not force and not db.is_empty(engine):
        # An existing database is upgraded in place, never rebuilt without --force.
        before, after, password = upgrade_database(engine)
        summary = {"sample": False, "upgraded": before != after, "revision_before": before, "revision": after}
        if password:
            summary["admin_user"], summary["admin_password"] = "admin", password
        summary["seconds"] = round(time.perf_counter() - started, 2)
        return summary
    create_database(engine, force=force)
    summary: dict = {"sample": sample}
    password = bootstrap_admin(engine)  # before the sample's demo users: every new database has it
    if password:
        summary["admin_user"] = "admin"
        summary["admin_password"] = password
    if sample:
        from sample_data.demo_users import add_demo_users
        from sample_data.generator import load_sample

        # Generating and writing take most of the time; deadlines the last few percent.
        scaled = (lambda fraction, message: progress(0.95 * fraction, message)) if progress else None
        summary.update(load_sample(engine, cases=cases, seed=seed, progress=scaled, deadlines=True))
        if progress:
            progress(0.96, "按时限规则和节假日计算办理期限…")
        with engine.begin() as conn:
            # A few recent rises, so that the early warnings have something to find.
            from sample_data.surges import DAYS, inject

            inject(conn, config.today())
        with engine.begin() as conn:
            if summary.pop("deadlines", False):  # written with the cases (same rules); the moved ones again
                recompute(conn, models.cases.c.registered_on >= config.today() - dt.timedelta(days=DAYS),
                          keep_summaries=False)
            else:
                recompute(conn, keep_summaries=False)
            summaries.rebuild(conn)  # the summary tables, built once from all the cases
            summary["demo_users"] = add_demo_users(conn)
        _sample_warnings(engine)
        if progress:
            progress(1.0, "示例城市已就绪")
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _sample_warnings(engine: Engine) -> None:
    """The sample city's warnings of today, raised as the bureau would each morning."""
    from dashboard import audit, early_warning

    with engine.begin() as conn:
        new, _total = early_warning.raise_warnings(conn, config.today(), by="市信访局（示例数据）", now=audit.now())
    audit.record(engine, None, "warn", user_name=None, target=f"{config.today():%Y-%m-%d}",
                 detail=f"示例城市：发布 {new} 条预警")
    # Backlog clearance targets of some counties (the others keep the default, the year end).
    import datetime as dt

    from dashboard.models import backlog_targets

    today = config.today()
    targets = {"990102": 210, "990103": 120, "990121": 120, "990122": 120, "990123": 150}
    with engine.begin() as conn:
        conn.execute(backlog_targets.insert(), [
            {"region_code": code, "target_date": today + dt.timedelta(days=days), "set_by": "市信访局（示例数据）",
             "set_at": audit.now()} for code, days in targets.items()])


def ensure_database(engine: Engine, progress: Progress | None = None) -> bool:
    """The app's start: upgrade an existing database, or create one with the sample
    city. Returns True if it created it. A first administrator created now has its
    one-time password printed on the server's console (never on a page)."""
    if not db.is_empty(engine):
        _before, _after, password = upgrade_database(engine)
        if password:
            _announce(password)
        return False
    summary = initialise(engine, sample=True, progress=progress)
    if summary.get("admin_password"):
        _announce(summary["admin_password"])
    return True


def _announce(password: str) -> None:
    print(f"信访督查看板：已创建管理员账号 admin，一次性密码 {password}（首次登录须修改）。", file=sys.stderr, flush=True)
