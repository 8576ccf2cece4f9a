"""Migrations: a database made by the first release is upgraded in place with every row
kept, and the models and the migrations describe the same schema."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dashboard import db, migrate
from dashboard.models import Base
from entrypoints.cli import main
from entrypoints.setup import ensure_database

# Made by the first release (commit 1565c39): `init --sample --cases 300`, a meeting with
# a committed seed, a draw of 3 cases and an approved extension, on 2026-11-20.
FIRST_RELEASE = Path(__file__).resolve().parent / "legacy" / "first_release.db"
LEGACY_TABLES = ("regions", "units", "leaders", "cases", "case_units", "case_events", "holidays", "rule_presets",
                 "rule_assignments", "color_rules", "case_extensions", "reminders", "attachments", "meetings",
                 "spot_check_draws", "spot_check_candidates", "spot_check_draw_cases", "meeting_outcomes")


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in LEGACY_TABLES}


def test_init_upgrades_a_first_release_database_in_place(tmp_path, monkeypatch, capsys):
    path = tmp_path / "old.db"
    shutil.copy(FIRST_RELEASE, path)
    before = _rows(path)
    assert len(before["cases"]) == 300 and len(before["spot_check_draws"]) == 1
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-11-20")
    assert main(["init", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["upgraded"], summary["revision_before"], summary["revision"]) == (True, "0001", migrate.head())
    assert summary["admin_user"] == "admin" and summary["admin_password"]  # it had no user
    after = _rows(path)
    # Revision 0003 dropped the meetings' secret seed kept in clear (column 7) and sealed
    # the draws into the record chain (a new record_digest, column 4).
    before["meetings"] = [row[:7] + row[8:] for row in before["meetings"]]
    for rows in (before["spot_check_draws"], after["spot_check_draws"]):
        rows[:] = [row[:4] + row[5:] for row in rows]
    # Revision 0004 corrected the collective flag (column 8): a visit of five or more only.
    visits = {row[0]: row[3] == "visit" and row[7] >= 5 for row in before["cases"]}
    assert [row[8] for row in after["cases"]] == [visits[row[0]] for row in after["cases"]]
    assert sum(row[8] for row in before["cases"]) == 3 and sum(row[8] for row in after["cases"]) == 2
    for rows in (before["cases"], after["cases"]):
        rows[:] = [row[:8] + row[9:] for row in rows]
    for table in LEGACY_TABLES:  # every row kept (new columns may follow the old ones)
        assert [row[:len(before[table][0])] for row in after[table]] == before[table] if before[table] else True, table
        assert len(after[table]) == len(before[table]), table
    # The old draw still verifies (a read: the console may run it).
    assert main(["verify-draw", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    # Again: nothing to do, exit 0.
    assert main(["init", "--sample"]) == 0
    out = capsys.readouterr().out
    assert "已是最新" in out and "未载入示例数据" in out


def test_the_app_upgrades_an_old_database_at_start(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIRST_RELEASE, path)
    engine = db.make_engine(f"sqlite:///{path}")
    assert ensure_database(engine) is False  # not created: upgraded
    assert migrate.current(engine) == migrate.head()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one() == 300
        assert conn.execute(sa.text("SELECT name FROM users")).scalars().all() == ["admin"]
    engine.dispose()


def _differences(url: str) -> list:
    engine = db.make_engine(url)
    migrate.upgrade(engine)  # an empty database: every migration from the first
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    return differences


def test_models_and_migrations_agree_on_sqlite(tmp_path):
    assert _differences(f"sqlite:///{tmp_path / 'migrated.db'}") == []


def test_models_and_migrations_agree_on_postgresql(postgres_url):
    import uuid

    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"dashboard_migrate_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        assert _differences(sa.engine.make_url(postgres_url).set(database=name).render_as_string(False)) == []
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_new_database_is_at_the_newest_revision(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    db.create_schema(engine)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()
