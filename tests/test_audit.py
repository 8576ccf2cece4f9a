"""Issue 11, the audit trail and masking: one record per action with who, role, scope and
outcome; refusals audited and showing no data; a failed write leaves no "ok" record;
the hash chain catches edits and deletions (SQLite and PostgreSQL); personal data masked
in every output, revealed only by the 信访局 with a reason, for that view only.

Expected records and masked strings are written out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import uuid
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard import actions, audit, auth, db
from dashboard.ledger import ledger_frame
from dashboard.models import audit_log, case_extensions, cases, meetings, spot_check_draws
from dashboard.permissions import Refused
from entrypoints.cli import main
from tests import fixture_city
from tests.conftest import POSTGRES_ADMIN_URL, _unavailable
from tests.fixture_city import PASSWORD
from tests.signin import actor_of, as_user

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
CITY, COUNTY_A, A1, B1 = "880100", "880102", "880102001", "880121001"
LIST_KEYS = {"at", "user", "role", "action", "target", "scope", "outcome"}

# Personal data given to B01 (东门街道, an unresolved backlog case: drawn by every full draw).
FULL_NAME, FULL_PHONE, FULL_ID = "张三丰", "13812345678", "110101199003071234"
MASKED_NAME, MASKED_PHONE, MASKED_ID = "张**", "138****5678", "110*************34"
REASON = "需电话联系信访人告知办理结果"


# ------------------------------------------------------------------ helpers


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def _ok(capsys, argv: list[str]) -> str:
    code, out, err = _run(capsys, argv)
    assert code == 0, (argv, err)
    return out


def _head(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))).scalar_one()


def _since(engine, since: int, **where) -> list[dict]:
    """Audit records after id `since`, oldest first (the raw table)."""
    stmt = sa.select(audit_log).where(audit_log.c.id > since).order_by(audit_log.c.id)
    for column, value in where.items():
        stmt = stmt.where(audit_log.c[column] == value)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _one(engine, since: int, action: str, *, user, role, scope, outcome="ok", target=None, channel=None) -> dict:
    """Exactly one record of `action` since `since`, with these fields."""
    found = _since(engine, since, action=action)
    assert len(found) == 1, [(r["action"], r["user_name"], r["outcome"]) for r in _since(engine, since)]
    record = found[0]
    assert (record["user_name"], record["role"], record["scope_code"], record["outcome"]) == (
        user, role, scope, outcome)
    if target is not None:
        assert record["target"] == target
    if channel is not None:
        assert record["channel"] == channel
    return record


def _no_ok(engine, since: int, action: str) -> None:
    assert [r for r in _since(engine, since, action=action) if r["outcome"] == "ok"] == []


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _draw(capsys, user: str = "supervisor", n: int = 3) -> dict:
    """A draw with a generated seed (nobody types one); 3 places take every candidate."""
    return json.loads(_ok(capsys, ["draw", "--n", str(n), "--json", "--user", user]))


def _give_b01_personal_data(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET petitioner_name = :n, petitioner_phone = :p, petitioner_id_no = :i "
                             "WHERE case_no = 'B01'"), {"n": FULL_NAME, "p": FULL_PHONE, "i": FULL_ID})


def _assert_no_full_data(text: str) -> None:
    assert FULL_PHONE not in text and FULL_ID not in text and FULL_NAME not in text


@pytest.fixture
def cli(city_env, writable_city, monkeypatch):
    """The command line on a private fixture city; no user named in the environment."""
    monkeypatch.delenv("DASHBOARD_USER", raising=False)
    return writable_city[1]


# ------------------------------------------------------------------ one record per action


def test_signin_is_audited(cli):
    since = _head(cli)
    auth.sign_in(cli, "town_a1", PASSWORD)
    _one(cli, since, "signin", user="town_a1", role="township", scope=A1, target=None, channel="web")
    assert len(_since(cli, since)) == 1


def test_failed_signin_is_audited(cli):
    since = _head(cli)
    with pytest.raises(auth.AuthError):
        auth.sign_in(cli, "town_a1", "wrong-password")
    record = _one(cli, since, "signin_failed", user="town_a1", role=None, scope=None, outcome="denied")
    assert "wrong-password" not in str(record)
    since = _head(cli)
    with pytest.raises(auth.AuthError):
        auth.sign_in(cli, "ghost", "wrong-password")
    _one(cli, since, "signin_failed", user="ghost", role=None, scope=None, outcome="denied")


def test_unknown_cli_user_is_refused_and_audited(cli, capsys):
    since = _head(cli)
    code, out, err = _run(capsys, ["kpi", "--json", "--user", "ghost"])
    assert code == 3 and "ghost" in err
    assert set(json.loads(out)) == {"error", "exit_code"}
    _one(cli, since, "signin_failed", user="ghost", role=None, scope=None, outcome="denied")


def test_case_view_on_the_command_line(cli, capsys):
    since = _head(cli)
    _ok(capsys, ["case", "C01", "--json", "--user", "county_a"])
    _one(cli, since, "view_case", user="county_a", role="county", scope=COUNTY_A, target="C01", channel="cli")
    assert len(_since(cli, since)) == 1


def test_reveal_on_the_command_line(cli, capsys):
    since = _head(cli)
    _ok(capsys, ["case", "C01", "--reveal", "--reason", REASON, "--json", "--user", "bureau"])
    record = _one(cli, since, "reveal", user="bureau", role="bureau", scope=CITY, target="C01", channel="cli")
    assert REASON in record["detail"]
    _one(cli, since, "view_case", user="bureau", role="bureau", scope=CITY, target="C01")


def test_agenda_export(cli, capsys, tmp_path):
    draw_id = _draw(capsys)["draw_id"]
    since = _head(cli)
    _ok(capsys, ["agenda", str(draw_id), "--xlsx", str(tmp_path / "a.xlsx"), "--html", str(tmp_path / "a.html"),
                 "--user", "city_user"])
    _one(cli, since, "export", user="city_user", role="city", scope=CITY, target=f"议程 #{draw_id}")


def _ledger_csv(path: Path, rows: list[list[str]]) -> Path:
    header = ["信访件编号", "登记日期", "信访形式", "信访人", "联系电话", "所属县区", "所属乡镇", "问题类别", "诉求摘要"]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_ledger_import(cli, capsys, tmp_path):
    path = _ledger_csv(tmp_path / "tiny.csv", [
        ["N900", "2026-06-01", "网上信访", "李四", "13900001111", "甲区", "东门街道", "劳动保障", "欠薪"]])
    before = _count(cli, cases)
    since = _head(cli)
    result = json.loads(_ok(capsys, ["import", str(path), "--json", "--user", "bureau"]))
    assert result["new"] == 1
    assert _count(cli, cases) == before + 1
    _one(cli, since, "import", user="bureau", role="bureau", scope=CITY, target="tiny.csv")


def test_draw(cli, capsys):
    since = _head(cli)
    draw_id = _draw(capsys)["draw_id"]
    _one(cli, since, "draw", user="supervisor", role="supervision", scope=CITY, target=f"抽查记录 #{draw_id}")


def test_meeting_create(cli, capsys):
    since = _head(cli)
    created = json.loads(_ok(capsys, ["meeting", "create", "--title", "七月督查会", "--at", "2026-07-10 14:30",
                                      "--json", "--user", "supervisor"]))
    record = _one(cli, since, "meeting", user="supervisor", role="supervision", scope=CITY,
                  target=f"督查会 #{created['meeting_id']}")
    assert "七月督查会" in record["detail"]


def test_outcome_and_follow_up(cli, capsys, city_env):
    draw = _draw(capsys)
    assert "B01" in [c["case_no"] for c in draw["cases"]]
    since = _head(cli)
    actions.record_outcome(cli, actor_of("supervisor", city_env), draw_id=draw["draw_id"], case_no="B01",
                           leader_report="已约谈信访人，提出化解方案", comment="抓紧化解", rating="needs_work",
                           follow_up_due=dt.date(2026, 7, 31))
    _one(cli, since, "outcome", user="supervisor", role="supervision", scope=CITY, target="B01", channel="web")
    since = _head(cli)
    actions.report_follow_up(cli, actor_of("town_a1", city_env), "B01", "已入户走访，协商补偿方案")
    _one(cli, since, "follow_up", user="town_a1", role="township", scope=A1, target="B01", channel="web")


def test_remind(cli, capsys):
    since = _head(cli)
    _ok(capsys, ["remind", "--json", "--user", "town_b1"])
    _one(cli, since, "remind", user="town_b1", role="township", scope=B1, target="2026-06-30")


def test_extend(cli, capsys):
    since = _head(cli)
    _ok(capsys, ["extend", "C05", "--days", "30", "--reason", "等待鉴定", "--approver", "张局长", "--user", "bureau"])
    _one(cli, since, "extend", user="bureau", role="bureau", scope=CITY, target="C05")


def test_rules_assign_and_edit(cli, capsys):
    since = _head(cli)
    _ok(capsys, ["rules", "assign", "--region", COUNTY_A, "--preset", "tongling-210", "--from", "2026-07-01",
                 "--user", "bureau"])
    _one(cli, since, "rule_assign", user="bureau", role="bureau", scope=CITY, target=COUNTY_A)
    since = _head(cli)
    _ok(capsys, ["rules", "edit", "tongling-210", "--limit", "acceptance", "--days", "3", "--user", "bureau"])
    _one(cli, since, "rule_edit", user="bureau", role="bureau", scope=CITY, target="tongling-210")


def test_calendar_import(cli, capsys, tmp_path):
    path = tmp_path / "holidays-2027.csv"
    path.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,holiday,春节\n2027-02-20,workday,春节调休\n",
                    encoding="utf-8")
    since = _head(cli)
    _ok(capsys, ["calendar", "import", str(path), "--user", "bureau"])
    _one(cli, since, "calendar", user="bureau", role="bureau", scope=CITY, target="3 天")


def test_user_changes(cli, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Newcomer-pass-1\n"))
    since = _head(cli)
    _ok(capsys, ["user", "add", "newcomer", "--role", "township", "--region", A1, "--password-stdin",
                 "--user", "admin"])
    record = _one(cli, since, "user_add", user="admin", role="admin", scope=None, target="newcomer", channel="cli")
    assert "Newcomer-pass-1" not in str(record)
    since = _head(cli)
    _ok(capsys, ["user", "disable", "newcomer", "--user", "admin"])
    _one(cli, since, "user_disable", user="admin", role="admin", scope=None, target="newcomer")
    monkeypatch.setattr("sys.stdin", io.StringIO("Reset-pass-2026\n"))
    since = _head(cli)
    _ok(capsys, ["user", "reset-password", "county_b", "--password-stdin", "--user", "admin"])
    record = _one(cli, since, "user_reset", user="admin", role="admin", scope=None, target="county_b")
    assert "Reset-pass-2026" not in str(record)


def test_case_view_on_the_page_is_audited_once(app_env, writable_city):
    engine = writable_city[1]
    at = as_user(AppTest.from_file(APP, default_timeout=60), "county_a")
    at.run()
    at.switch_page("pages/case.py").run()
    since = _head(engine)
    at.text_input(key="case_search").input("C01").run()
    assert not at.exception
    at.run()  # the same view again in the session: not a new record
    _one(engine, since, "view_case", user="county_a", role="county", scope=COUNTY_A, target="C01", channel="web")


# ------------------------------------------------------------------ refusals


def test_out_of_scope_read_is_refused_without_data(cli, capsys):
    since = _head(cli)
    code, out, err = _run(capsys, ["kpi", "--region", "880121", "--user", "county_a"])
    assert code == 3
    assert out == ""
    assert "拒绝" in err and "乙县" not in err
    _one(cli, since, "read", user="county_a", role="county", scope=COUNTY_A, outcome="denied")

    since = _head(cli)
    code, out, _ = _run(capsys, ["kpi", "--region", "880121", "--json", "--user", "county_a"])
    assert code == 3
    payload = json.loads(out)
    assert set(payload) == {"error", "exit_code"} and payload["exit_code"] == 3
    _one(cli, since, "read", user="county_a", role="county", scope=COUNTY_A, outcome="denied")


def test_draw_without_a_user_is_refused(cli, capsys):
    since = _head(cli)
    code, out, err = _run(capsys, ["draw", "--n", "1"])
    assert code == 3 and out == "" and "--user" in err
    _one(cli, since, "draw", user=None, role="console", scope=CITY, outcome="denied")
    code, out, _ = _run(capsys, ["draw", "--n", "1", "--json"])
    assert code == 3 and set(json.loads(out)) == {"error", "exit_code"}
    assert _count(cli, spot_check_draws) == 0


def test_case_outside_the_scope_is_refused(cli, capsys):
    since = _head(cli)
    code, out, err = _run(capsys, ["case", "C05", "--user", "county_a"])  # C05 is in 乙县
    assert code == 3 and out == ""
    assert "南山镇" not in err
    _one(cli, since, "view_case", user="county_a", role="county", scope=COUNTY_A, target="C05", outcome="denied")


def test_reveal_by_a_county_user_is_refused(cli, capsys):
    _give_b01_personal_data(cli)
    since = _head(cli)
    code, out, err = _run(capsys, ["case", "B01", "--reveal", "--reason", REASON, "--user", "county_a"])
    assert code == 3 and out == ""
    _assert_no_full_data(err)
    _one(cli, since, "reveal", user="county_a", role="county", scope=COUNTY_A, target="B01", outcome="denied")
    code, out, _ = _run(capsys, ["case", "B01", "--reveal", "--reason", REASON, "--json", "--user", "county_a"])
    assert code == 3 and set(json.loads(out)) == {"error", "exit_code"}


def test_reveal_needs_a_reason(cli, capsys):
    _give_b01_personal_data(cli)
    since = _head(cli)
    code, out, err = _run(capsys, ["case", "B01", "--reveal", "--json", "--user", "bureau"])
    assert code == 2 and "理由" in err
    _assert_no_full_data(out + err)
    _no_ok(cli, since, "reveal")


# ------------------------------------------------------------------ failed writes leave nothing


def test_draw_without_candidates_writes_nothing(cli, capsys):
    since = _head(cli)
    code, out, err = _run(capsys, ["draw", "--n", "1", "--region", B1, "--user", "supervisor"])  # no backlog there
    assert code == 2 and "没有符合条件" in err and out == ""
    _no_ok(cli, since, "draw")
    assert _count(cli, spot_check_draws) == 0


def test_unimportable_ledger_writes_nothing(cli, capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("甲,乙,丙\n1,2,3\n", encoding="utf-8")  # no ledger header at all
    before = _count(cli, cases)
    since = _head(cli)
    code, out, _ = _run(capsys, ["import", str(path), "--json", "--user", "bureau"])
    assert code == 2 and json.loads(out)["exit_code"] == 2
    _no_ok(cli, since, "import")
    assert _count(cli, cases) == before


def test_refused_extension_writes_nothing(cli, capsys):
    since = _head(cli)
    code, _, err = _run(capsys, ["extend", "C04", "--days", "30", "--reason", "等待鉴定", "--approver", "张局长",
                                 "--user", "bureau"])  # C04's handling deadline has passed
    assert code == 2 and "已过" in err
    _no_ok(cli, since, "extend")
    assert _count(cli, case_extensions) == 0


def test_unknown_preset_edit_writes_nothing(cli, capsys):
    since = _head(cli)
    code, _, _ = _run(capsys, ["rules", "edit", "no-such-preset", "--limit", "acceptance", "--days", "3",
                               "--user", "bureau"])
    assert code == 2
    _no_ok(cli, since, "rule_edit")


def _failing_append(monkeypatch, failing_action: str) -> None:
    """Make the audit record of one action fail, as a full disk would."""
    original = audit.append

    def append(conn, actor, action, **fields):
        if action == failing_action:
            raise RuntimeError("audit storage failed")
        return original(conn, actor, action, **fields)

    monkeypatch.setattr(audit, "append", append)


def test_write_and_record_commit_together(cli, monkeypatch, city_env):
    """A write whose audit record cannot be stored is not stored either."""
    supervisor = actor_of("supervisor", city_env)
    bureau = actor_of("bureau", city_env)
    _failing_append(monkeypatch, "meeting")
    with pytest.raises(RuntimeError):
        actions.create_meeting(cli, supervisor, title="七月督查会", scheduled_at=dt.datetime(2026, 7, 10, 14, 30))
    assert _count(cli, meetings) == 0
    _failing_append(monkeypatch, "extend")
    with pytest.raises(RuntimeError):
        actions.extend_deadline(cli, bureau, "C05", 30, reason="等待鉴定", approver="张局长", on=dt.date(2026, 6, 30))
    assert _count(cli, case_extensions) == 0
    with cli.connect() as conn:
        assert conn.execute(sa.select(cases.c.extension_days).where(cases.c.case_no == "C05")).scalar() in (0, None)
    assert _since(cli, 0, action="meeting") == [] and _since(cli, 0, action="extend") == []


def test_refusal_is_recorded_although_the_action_is_refused(cli, city_env):
    county = actor_of("county_a", city_env)
    since = _head(cli)
    with pytest.raises(Refused):
        actions.create_meeting(cli, county, title="越权会议", scheduled_at=dt.datetime(2026, 7, 10, 14, 30))
    _one(cli, since, "meeting", user="county_a", role="county", scope=COUNTY_A, outcome="denied")
    assert _count(cli, meetings) == 0


# ------------------------------------------------------------------ audit list


def test_audit_list_json(cli, capsys):
    auth.sign_in(cli, "county_a", PASSWORD)
    _ok(capsys, ["case", "C01", "--user", "county_a"])
    listed = json.loads(_ok(capsys, ["audit", "list", "--json", "--user", "admin"]))
    assert len(listed) >= 2
    for item in listed:
        assert LIST_KEYS <= set(item), item
        dt.datetime.fromisoformat(item["at"])
    view = next(item for item in listed if item["action"] == "view_case")
    assert {k: view[k] for k in LIST_KEYS - {"at"}} == {
        "user": "county_a", "role": "county", "action": "view_case", "target": "C01", "scope": COUNTY_A,
        "outcome": "ok"}
    # Newest first: the case view came after the sign-in.
    actions_listed = [item["action"] for item in listed]
    assert actions_listed.index("view_case") < actions_listed.index("signin")

    only = json.loads(_ok(capsys, ["audit", "list", "--json", "--action", "signin", "--user", "admin"]))
    assert [(i["action"], i["user"]) for i in only] == [("signin", "county_a")]
    mine = json.loads(_ok(capsys, ["audit", "list", "--json", "--of", "county_a", "--user", "admin"]))
    assert {i["user"] for i in mine} == {"county_a"} and len(mine) == 2


def test_audit_list_is_for_the_administrator_only(cli, capsys):
    code, out, _ = _run(capsys, ["audit", "list", "--json", "--user", "bureau"])
    assert code == 3 and set(json.loads(out)) == {"error", "exit_code"}
    code, out, _ = _run(capsys, ["audit", "list"])
    assert code == 3 and out == ""


# ------------------------------------------------------------------ the hash chain


def _some_records(engine, capsys) -> list[int]:
    """Five records of different kinds; returns their ids."""
    since = _head(engine)
    auth.sign_in(engine, "county_a", PASSWORD)
    auth.sign_in(engine, "county_b", PASSWORD)
    _ok(capsys, ["case", "C01", "--user", "county_a"])
    auth.sign_in(engine, "bureau", PASSWORD)
    _ok(capsys, ["case", "C05", "--user", "county_b"])
    ids = [r["id"] for r in _since(engine, since)]
    assert len(ids) == 5
    return ids


def _verify(capsys) -> tuple[int, dict]:
    code, out, err = _run(capsys, ["verify-audit", "--json", "--user", "admin"])
    return code, json.loads(out)


def test_untouched_chain_verifies_on_sqlite(cli, capsys):
    _some_records(cli, capsys)
    length = _count(cli, audit_log)
    with cli.connect() as conn:
        head = conn.execute(sa.select(audit_log.c.digest).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    code, payload = _verify(capsys)
    assert code == 0
    assert payload == {"ok": True, "length": length, "head_digest": head, "first_broken_id": None}
    code, out, _ = _run(capsys, ["verify-audit", "--user", "admin"])
    assert code == 0 and "核验通过" in out


TAMPERING = {
    "detail": "UPDATE audit_log SET detail = '无' WHERE id = :id",
    "user": "UPDATE audit_log SET user_name = 'county_b' WHERE id = :id",
    "at": "UPDATE audit_log SET at = :at WHERE id = :id",
    "outcome": "UPDATE audit_log SET outcome = 'denied' WHERE id = :id",
}


@pytest.mark.parametrize("field", list(TAMPERING))
def test_an_edited_record_breaks_the_chain(cli, capsys, field):
    ids = _some_records(cli, capsys)
    middle = ids[2]
    with cli.begin() as conn:
        conn.execute(sa.text(TAMPERING[field]), {"id": middle, "at": dt.datetime(2026, 1, 1, 8, 0, 0)})
    code, payload = _verify(capsys)
    assert code == 1
    assert payload["ok"] is False and payload["first_broken_id"] == middle
    code, out, _ = _run(capsys, ["verify-audit", "--user", "admin"])
    assert code == 1 and "核验未通过" in out and f"#{middle}" in out


def test_a_deleted_record_breaks_the_chain(cli, capsys):
    ids = _some_records(cli, capsys)
    with cli.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
    code, payload = _verify(capsys)
    assert code == 1
    assert payload["ok"] is False and payload["first_broken_id"] == ids[3]


def test_verify_audit_is_for_the_administrator_only(cli, capsys):
    code, out, _ = _run(capsys, ["verify-audit", "--user", "supervisor"])
    assert code == 3 and out == ""


def test_concurrent_appends_keep_one_chain_on_sqlite(cli):
    _concurrent_appends(cli)


@pytest.fixture
def pg_city(monkeypatch):
    """A private PostgreSQL database with the fixture city (dropped afterwards)."""
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as error:  # no server, no driver
        _unavailable(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}")
    name = f"dashboard_audit_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    try:
        fixture_city.build(engine)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
        monkeypatch.delenv("DASHBOARD_USER", raising=False)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_chain_on_postgresql(pg_city, capsys):
    ids = _some_records(pg_city, capsys)
    draw_id = _draw(capsys)["draw_id"]
    _ok(capsys, ["meeting", "create", "--title", "七月督查会", "--at", "2026-07-10 14:30", "--user", "supervisor"])
    since = _head(pg_city)
    _ok(capsys, ["case", "B01", "--reveal", "--reason", REASON, "--user", "bureau"])
    _one(pg_city, since, "reveal", user="bureau", role="bureau", scope=CITY, target="B01")
    assert draw_id >= 1
    length = _count(pg_city, audit_log)
    code, payload = _verify(capsys)
    assert code == 0 and payload["ok"] is True and payload["length"] == length

    with pg_city.begin() as conn:
        conn.execute(sa.text(TAMPERING["detail"]), {"id": ids[1]})
    code, payload = _verify(capsys)
    assert code == 1 and payload["first_broken_id"] == ids[1]


def test_concurrent_appends_keep_one_chain_on_postgresql(pg_city):
    _concurrent_appends(pg_city)


def _concurrent_appends(engine) -> None:
    """Four writers appending at once still leave one unbroken chain."""
    with engine.connect() as conn:
        actor = auth.actor_for(conn, auth.get_user(conn, "bureau"), "web")
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(8):
                audit.record(engine, actor, "export", target=f"并发 {worker}-{i}")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _count(engine, audit_log) == 32
    with engine.connect() as conn:
        check = audit.verify(conn)
    assert check.ok and check.length == 32


# ------------------------------------------------------------------ masking in every output


def test_case_json_is_masked(cli, capsys):
    _give_b01_personal_data(cli)
    out = _ok(capsys, ["case", "B01", "--json", "--user", "county_a"])
    assert json.loads(out)["petitioner"] == {"name": MASKED_NAME, "phone": MASKED_PHONE, "id_no": MASKED_ID,
                                             "masked": True}
    _assert_no_full_data(out)
    text = _ok(capsys, ["case", "B01", "--user", "bureau"])
    assert MASKED_PHONE in text and MASKED_ID in text and "已脱敏" in text
    _assert_no_full_data(text)


def test_case_json_revealed_by_the_bureau(cli, capsys):
    _give_b01_personal_data(cli)
    since = _head(cli)
    out = _ok(capsys, ["case", "B01", "--reveal", "--reason", REASON, "--json", "--user", "bureau"])
    assert json.loads(out)["petitioner"] == {"name": FULL_NAME, "phone": FULL_PHONE, "id_no": FULL_ID,
                                             "masked": False}
    record = _one(cli, since, "reveal", user="bureau", role="bureau", scope=CITY, target="B01")
    _assert_no_full_data(str(record))  # the reason is kept, the data is not
    # The next view is masked again.
    again = _ok(capsys, ["case", "B01", "--json", "--user", "bureau"])
    assert json.loads(again)["petitioner"]["phone"] == MASKED_PHONE
    # Nor does the audit list carry the revealed data.
    _assert_no_full_data(_ok(capsys, ["audit", "list", "--json", "--user", "admin"]))


def test_ledger_export_is_masked(cli):
    _give_b01_personal_data(cli)
    with cli.connect() as conn:
        frame = ledger_frame(conn, masked=True)
        default = ledger_frame(conn)
    row = frame[frame["信访件编号"] == "B01"].iloc[0]
    assert (row["信访人"], row["联系电话"], row["身份证号"]) == (MASKED_NAME, MASKED_PHONE, MASKED_ID)
    _assert_no_full_data(frame.to_csv(index=False))
    _assert_no_full_data(default.to_csv(index=False))


def test_agenda_and_draw_outputs_carry_no_personal_data(cli, capsys, tmp_path):
    _give_b01_personal_data(cli)
    out = _ok(capsys, ["draw", "--n", "3", "--json", "--user", "supervisor"])
    draw = json.loads(out)
    assert "B01" in [c["case_no"] for c in draw["cases"]]
    _assert_no_full_data(out)
    xlsx, page = tmp_path / "agenda.xlsx", tmp_path / "agenda.html"
    _ok(capsys, ["agenda", str(draw["draw_id"]), "--xlsx", str(xlsx), "--html", str(page), "--user", "supervisor"])
    workbook = openpyxl.load_workbook(xlsx)
    cells = " ".join(str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row
                     if c.value is not None)
    assert "B01" in cells
    _assert_no_full_data(cells)
    html = page.read_text(encoding="utf-8")
    assert "B01" in html
    _assert_no_full_data(html)


def _case_page(user: str, case_no: str) -> AppTest:
    at = as_user(AppTest.from_file(APP, default_timeout=60), user)
    at.run()
    at.switch_page("pages/case.py").run()
    at.text_input(key="case_search").input(case_no).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _page_text(at: AppTest) -> str:
    parts = [t.value.to_csv() for t in at.table]
    parts += [getattr(f.value, "data", f.value).to_csv() for f in at.dataframe]
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def _basic_table(at: AppTest) -> dict:
    frame = at.table[0].value
    return dict(zip(frame.index, frame["内容"], strict=True))


def test_case_page_masks_and_the_bureau_reveals_once(app_env, writable_city):
    engine = writable_city[1]
    _give_b01_personal_data(engine)
    at = _case_page("bureau", "B01")
    basic = _basic_table(at)
    assert (basic["信访人"], basic["联系电话"], basic["身份证号"]) == (MASKED_NAME, MASKED_PHONE, MASKED_ID)
    _assert_no_full_data(_page_text(at))

    since = _head(engine)
    at.text_input(key="reveal_reason").input(REASON)
    at.button(key="reveal_submit").click().run()
    assert not at.exception
    shown = _page_text(at)
    assert FULL_PHONE in shown and FULL_ID in shown and FULL_NAME in shown
    record = _one(engine, since, "reveal", user="bureau", role="bureau", scope=CITY, target="B01", channel="web")
    assert REASON in record["detail"]
    _assert_no_full_data(str(record))

    at.run()  # the next interaction: masked again, and no new record
    _assert_no_full_data(_page_text(at))
    assert len(_since(engine, since, action="reveal")) == 1


def test_case_page_reveal_needs_a_reason(app_env, writable_city):
    engine = writable_city[1]
    _give_b01_personal_data(engine)
    at = _case_page("bureau", "B01")
    since = _head(engine)
    at.text_input(key="reveal_reason").input("看看")
    at.button(key="reveal_submit").click().run()
    assert any("理由" in e.value for e in at.error)
    _assert_no_full_data(_page_text(at))
    _no_ok(engine, since, "reveal")


def test_county_user_has_no_reveal_form(app_env, writable_city):
    _give_b01_personal_data(writable_city[1])
    at = _case_page("county_a", "B01")
    basic = _basic_table(at)
    assert (basic["信访人"], basic["联系电话"], basic["身份证号"]) == (MASKED_NAME, MASKED_PHONE, MASKED_ID)
    assert "reveal_reason" not in {t.key for t in at.text_input}
    assert "reveal_submit" not in {b.key for b in at.button}
    _assert_no_full_data(_page_text(at))
