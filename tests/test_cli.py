"""`python -m dashboard`: the JSON contract, Chinese errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from dashboard.models import spot_check_draws
from entrypoints.cli import main

KPI_KEYS = {
    "period_from", "period_to", "region", "total", "total_same_period_last_year", "yoy",
    "online_share", "timely_acceptance_rate", "on_time_closure_rate", "evaluation_rate",
    "satisfaction_rate", "backlog_total", "backlog_resolved", "backlog_resolution_rate",
    "collective_batches", "collective_persons", "escalated_province_batches",
    "escalated_beijing_batches", "colors",
}


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_kpi_json_contract(city_env, capsys):
    result = _json(capsys, ["kpi", "--json"])
    assert KPI_KEYS <= set(result)
    assert (result["period_from"], result["period_to"], result["region"]) == ("2026-01-01", "2026-06-30", "880100")
    assert result["total"] == 10
    assert result["colors"] == {"red": 3, "yellow": 2, "green": 3}  # see test_queries
    county = _json(capsys, ["kpi", "--region", "880102", "--from", "2026-01-01", "--to", "2026-06-30", "--json"])
    assert (county["region"], county["total"], county["backlog_total"]) == ("880102", 4, 2)
    empty = _json(capsys, ["kpi", "--from", "2020-01-01", "--to", "2020-12-31", "--json"])
    assert empty["total"] == 0 and empty["satisfaction_rate"] is None and empty["yoy"] is None


def test_kpi_text_is_chinese(city_env, capsys):
    assert main(["kpi"]) == 0
    out = capsys.readouterr().out
    assert "信访总量 10 件" in out and "红色 3 件" in out


@pytest.mark.parametrize("argv,fragment", [
    (["kpi", "--region", "123456"], "区划代码 123456 不存在"),
    (["kpi", "--from", "2026-13-01"], "日期格式不对"),
    (["kpi", "--from", "2026-06-01", "--to", "2026-01-01"], "晚于截止日期"),
    (["draw", "--n", "0"], "应为正整数"),
])
def test_user_errors_exit_2_with_chinese_message(city_env, capsys, argv, fragment):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse rejects the value itself
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_draw_json_and_stored(city_env, capsys):
    first = _json(capsys, ["draw", "--user", "supervisor", "--n", "2", "--per-county", "--json"])
    assert first["method"] == "stratified" and first["candidate_count"] == 3
    assert len(first["seed"]) == 39 and first["seed"].count("-") == 7  # generated: nobody types a seed
    numbers = [c["case_no"] for c in first["cases"]]
    assert len(numbers) == 2 and "B05" in numbers
    assert [c["position"] for c in first["cases"]] == [1, 2]
    b05 = next(c for c in first["cases"] if c["case_no"] == "B05")
    # B05 is yellow: its handling deadline (1 July) is 1 day away and comes before its target
    assert (b05["county"], b05["township"], b05["color"], b05["leader"]) == ("乙县", "北河乡", "yellow", "钱二")
    assert b05["days_open"] == 60
    again = _json(capsys, ["draw", "--user", "supervisor", "--n", "2", "--per-county", "--json"])
    assert again["draw_id"] == first["draw_id"] + 1 and again["seed"] != first["seed"]
    assert "B05" in [c["case_no"] for c in again["cases"]]  # one per county: 乙县 has only B05
    # Recorded under the user's name (display name "supervisor"), not a typed one.
    with sa.create_engine(city_env).connect() as conn:
        by = conn.execute(sa.select(spot_check_draws.c.created_by).order_by(spot_check_draws.c.id)).scalars().all()
    assert by == ["supervisor", "supervisor"]


def test_draw_without_candidates(city_env, capsys):
    assert main(["draw", "--user", "supervisor", "--n", "1", "--region", "880121001"]) == 2  # 南山镇 has none
    assert "没有符合条件的未化解积案" in capsys.readouterr().err


def test_module_entry_point_and_missing_database(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")
    done = subprocess.run([sys.executable, "-m", "dashboard", "kpi"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "init --sample" in done.stderr and "Traceback" not in done.stderr


def test_init_creates_empty_schema_then_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    summary = _json(capsys, ["init", "--json"])
    assert summary["sample"] is False
    # The first administrator, with a one-time password shown only now.
    assert summary["admin_user"] == "admin" and summary["admin_password"]
    assert "demo_users" not in summary
    # An empty schema is still "empty": init again is allowed; the admin is not made twice.
    again = _json(capsys, ["init", "--json"])
    assert "admin_user" not in again and "admin_password" not in again


def test_outdated_database_is_reported_not_crashed(tmp_path):
    import sqlite3

    from dashboard import db
    from entrypoints.setup import OutdatedDatabase, ensure_database

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE regions (code TEXT PRIMARY KEY)")
        old.execute("INSERT INTO regions VALUES ('990100')")
        old.execute("CREATE TABLE cases (id INTEGER PRIMARY KEY, case_no TEXT)")
    with pytest.raises(OutdatedDatabase, match="init --sample --force"):
        ensure_database(db.make_engine(f"sqlite:///{path}"))


def test_first_run_progress_only_moves_forward(tmp_path):
    from dashboard import db
    from entrypoints.setup import initialise

    calls: list[float] = []
    summary = initialise(db.make_engine(f"sqlite:///{tmp_path / 'first.db'}"), sample=True, cases=500,
                         progress=lambda fraction, _message: calls.append(fraction))
    assert calls == sorted(calls) and calls[0] == 0.0 and calls[-1] == 1.0
    # The sample city comes with one demo user per role.
    assert summary["demo_users"] == ["demo-city", "demo-county", "demo-township", "demo-supervision",
                                     "demo-bureau", "demo-admin"]


def test_kpi_refuses_a_period_ending_after_today(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-11-20")
    assert main(["kpi", "--to", "2026-11-21"]) == 2
    assert "晚于今天（2026-11-20）" in capsys.readouterr().err


def test_bench_reports_medians_and_ratios(capsys):
    # A tiny run: the figures themselves are not asserted (timings), their shape is.
    result = _json(capsys, ["bench", "--cases", "300,600", "--repeat", "3", "--no-pages", "--import-rows", "50",
                            "--json"])
    small, large = result["results"]
    assert (small["cases"], large["cases"]) == (300, 600)
    assert small["database"] == "sqlite" and small["database_bytes"] > 0
    timing = small["timings"][0]
    assert set(timing) >= {"name", "scope", "median_ms", "min_ms", "max_ms", "runs", "within_target"}
    assert timing["runs"] == 3 and timing["min_ms"] <= timing["median_ms"] <= timing["max_ms"]
    assert {t["scope"] for t in small["timings"]} == {"city", "county"}
    names = [t["name"] for t in small["timings"]]
    assert names[-2:] == ["import 50 行（新增）", "import 50 行（重复导入，未变）"]  # city scope only
    assert len(small["ratios"]) == (len(small["timings"]) - 2) // 2
    assert result["growth"][0]["case_ratio"] == 2.0


def test_bench_refuses_bad_sizes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--cases", "abc"])
    assert exit_info.value.code == 2
    assert "50000,1000000" in capsys.readouterr().err


def test_bench_reuse_times_a_loaded_database_without_changing_it(tmp_path, capsys):
    from dashboard import db
    from entrypoints.setup import initialise

    url = f"sqlite:///{tmp_path / 'loaded.db'}"
    initialise(db.make_engine(url), sample=True, cases=400)
    # without --reuse a database with data is refused, and --reuse names the way out
    assert main(["bench", "--database-url", url, "--cases", "300", "--no-pages"]) == 2
    assert "--reuse" in capsys.readouterr().err
    assert main(["bench", "--database-url", url, "--reuse", "--import-rows", "10", "--no-pages"]) == 2
    assert "--import-rows" in capsys.readouterr().err
    result = _json(capsys, ["bench", "--database-url", url, "--reuse", "--cases", "300", "--repeat", "1",
                            "--no-pages", "--json"])
    (only,) = result["results"]
    assert only["cases"] == 400 and only["init_seconds"] is None  # the database's own count, nothing built
    assert {"name", "scope", "median_ms", "p95_ms"} <= set(only["timings"][0])
    with db.make_engine(url).connect() as conn:  # nothing added
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM cases").scalar() == 400
    assert main(["bench", "--reuse", "--no-pages"]) == 2
    assert "--database-url" in capsys.readouterr().err
