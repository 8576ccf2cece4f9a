"""The accountability loop: indicators worked out by hand on tests/accountability_fixture.py
(each record there is commented with its contribution), role and scope of the new
actions, the import's row-level refusals and the command line."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard import actions, db
from dashboard.models import audit_log, case_steps, clearances, receptions, referrals, revisits
from dashboard.permissions import Refused
from dashboard.record_import import RecordImportResult
from dashboard.scope import scope_for
from entrypoints.cli import main
from queries import accountability as qa
from queries import receptions as qr
from queries.filters import Filters
from tests import fixture_city
from tests.accountability_fixture import add_records
from tests.conftest import drop_database, throwaway_database
from tests.fixture_city import A1, CITY, COUNTY_A, COUNTY_B, TODAY
from tests.signin import actor_of

H1 = Filters(date_from=dt.date(2026, 1, 1), date_to=TODAY)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def records_city(request, tmp_path_factory):
    url, drop = throwaway_database(request.param, tmp_path_factory, "accountability")
    engine = db.make_engine(url)
    fixture_city.build(engine)
    add_records(engine)
    yield engine
    engine.dispose()
    drop_database(drop)


# (scope, expected indicators) worked out by hand from the fixture's comments.
EXPECTED = {
    CITY: dict(reception_completion_rate=3 / 4, receptions_scheduled=4, reception_persons=35, instruction_rate=3 / 4,
               instruction_days_mean=11 / 3, referrals={"typical": 2, "general": 1, "closed": 1}, traced=3,
               accountability_persons=2, interviewed_persons=1, revisit_rate=3 / 5,
               satisfaction_rate_bureau=2 / 3, satisfaction_rate_authority=1 / 2, backlog_cleared=1,
               backlog_reopened=1),
    # 甲区: R1, R2 held (12 + 3); I4 in 7 days; F1, F2 typical, F1 closed; T1–T3; 王五 (问责),
    # 李六 (约谈); closed C01, C02, C03, P04, revisited C01, C02; V1 满意, V2 不满意.
    COUNTY_A: dict(reception_completion_rate=1.0, receptions_scheduled=2, reception_persons=15, instruction_rate=1.0,
                   instruction_days_mean=7.0, referrals={"typical": 0 + 2, "general": 0, "closed": 1}, traced=3,
                   accountability_persons=1, interviewed_persons=1, revisit_rate=2 / 4,
                   satisfaction_rate_bureau=1 / 2, satisfaction_rate_authority=1 / 2, backlog_cleared=0,
                   backlog_reopened=0),
    # 乙县: R3 not held; no instruction; F3 general; 周七; closed B03 revisited (V3 满意,
    # authority not rated); B03 cleared, B04 reopened.
    COUNTY_B: dict(reception_completion_rate=0.0, receptions_scheduled=1, reception_persons=0, instruction_rate=None,
                   instruction_days_mean=None, referrals={"typical": 0, "general": 1, "closed": 0}, traced=0,
                   accountability_persons=1, interviewed_persons=0, revisit_rate=1.0, satisfaction_rate_bureau=1.0,
                   satisfaction_rate_authority=None, backlog_cleared=1, backlog_reopened=1),
    # 东门街道: R1 (12 人次); T3; closed C01, C02, P04, revisited C01, C02.
    A1: dict(reception_completion_rate=1.0, receptions_scheduled=1, reception_persons=12, instruction_rate=None,
             referrals={"typical": 0, "general": 0, "closed": 0}, traced=1, accountability_persons=0,
             revisit_rate=2 / 3, satisfaction_rate_bureau=1 / 2, satisfaction_rate_authority=1 / 2, backlog_cleared=0),
}


@pytest.mark.parametrize("region", list(EXPECTED))
def test_indicators_match_the_hand_worked_figures(records_city, region):
    with records_city.connect() as conn:
        result = qa.accountability_indicators(conn, scope_for(conn, region), H1)
    for key, value in EXPECTED[region].items():
        assert result[key] == (pytest.approx(value) if isinstance(value, float) else value), (region, key)


def test_leader_board_flags_and_2453_completion(records_city):
    with records_city.connect() as conn:
        city = scope_for(conn)
        board = qa.leader_casework(conn, city, H1).set_index("leader_id")
        plans = qa.leader_case_plans(conn, city, H1, 1)
        county_b = qa.leader_casework(conn, scope_for(conn, COUNTY_B), H1)
    # 赵一: B01 complete, B02 measures only; steps 3 of 2 × 14.
    assert board.loc[1, ["cases", "plans_complete", "missing_measures", "missing_time",
                         "missing_responsibility", "steps_done"]].tolist() == [2, 1, 0, 1, 1, 3]
    assert board.loc[1, "steps_completion"] == pytest.approx(3 / 28)
    # 钱二: B03 complete, B04 nothing, B05 leader and time; steps 14 + 0 + 1 of 3 × 14.
    assert board.loc[2, ["cases", "plans_complete", "missing_measures", "missing_time",
                         "missing_responsibility", "steps_done"]].tolist() == [3, 1, 2, 1, 2, 15]
    assert board.loc[2, "steps_completion"] == pytest.approx(15 / 42)
    assert plans["case_no"].tolist() == ["B01", "B02"]
    assert plans.loc[0, "steps_missing"].count("、") == 10  # 11 steps missing
    assert plans.loc[0, "steps_missing"].startswith("2听取、3听取、4听取、1确定")  # 1见面, 1听取, 2见面 done
    assert county_b["leader_id"].tolist() == [2]


def test_reception_and_instruction_tables(records_city):
    with records_city.connect() as conn:
        city = scope_for(conn)
        summary = qr.reception_summary(conn, city, H1).set_index("level")
        queue = qr.instruction_queue(conn, city, H1).set_index("leader_name")
        listed = qr.reception_list(conn, city, H1)
        county_a = qr.reception_list(conn, scope_for(conn, COUNTY_A), H1)
    assert summary.loc["city", ["scheduled", "held", "persons"]].tolist() == [1, 1, 20]
    assert summary.loc["county", ["scheduled", "held", "persons"]].tolist() == [3, 2, 15]
    assert summary.loc["county", "completion_rate"] == pytest.approx(2 / 3)
    assert queue.loc["孙三", ["received", "done", "waiting"]].tolist() == [3, 2, 1]
    assert queue.loc["孙三", "days_mean"] == pytest.approx(2.0)  # 3 and 1 days
    assert listed.loc[listed["place"] == "东门街道信访接待室", "cases_taken"].tolist() == ["B01"]
    assert set(county_a["place"]) == {"东门街道信访接待室", "甲区信访局"}  # not the city's or 乙县's


def test_referral_candidates_are_proposals_with_reasons(records_city):
    with records_city.connect() as conn:
        candidates = qa.referral_candidates(conn, scope_for(conn), H1)
    # Red open cases C04, C08, B02 and long backlog B01, B02; B02 and C08 have an open
    # referral; C04's referral is closed (对账销号), so it may be proposed again.
    assert dict(zip(candidates["case_no"], candidates["reasons"], strict=True)) == {
        "B01": "长期积案（超过一年）", "C04": "超期（红色）"}


def test_region_tables_and_case_records(records_city):
    with records_city.connect() as conn:
        city = scope_for(conn)
        regions = qa.accountability_by_region(conn, city, H1).set_index("name")
        c04 = conn.execute(sa.text("SELECT id FROM cases WHERE case_no = 'C04'")).scalar_one()
        records = qa.case_records(conn, city, c04)
        dual = qa.case_dual_units(conn, city, c04)
        outside = qa.case_records(conn, scope_for(conn, COUNTY_B), c04)
    assert regions.loc["甲区", ["traced", "referrals", "accountability_persons"]].tolist() == [3, 2, 1]
    assert regions.loc["乙县", ["traced", "referrals", "accountability_persons"]].tolist() == [0, 1, 1]
    assert records["referrals"]["finding"].tolist() == ["inaction"]
    assert dict(zip(dual["role"], dual["part"], strict=True)) == {"territory": "入户核实、化解稳控",
                                                                  "competent": "确权资料复核"}
    assert all(frame.empty for frame in outside.values())


# ------------------------------------------------------------------ actions: role, scope, audit


@pytest.fixture
def writable(writable_city, monkeypatch):
    url, engine = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    add_records(engine)
    return url, engine


def _audit(engine, action_name, outcome):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == action_name, audit_log.c.outcome == outcome)).scalar_one()


def test_a_township_records_its_own_2453_steps_and_revisits_only(writable):
    url, engine = writable
    town = actor_of("town_a1", url)
    actions.record_case_step(engine, town, "B01", "hear2", done_on=dt.date(2026, 6, 29), note="听取意见")
    assert _audit(engine, "step", "ok") == 1
    with pytest.raises(Refused):  # B02 lies in 西门街道
        actions.record_case_step(engine, town, "B02", "hear2", done_on=dt.date(2026, 6, 29))
    assert _audit(engine, "step", "denied") == 1
    with pytest.raises(Refused):  # a township may not refer cases
        actions.add_referral(engine, town, "B01", kind="typical", referred_on=TODAY, approved_by="赵一",
                             receiving_body="甲区纪委监委")
    assert _audit(engine, "referral", "denied") == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(case_steps)
                            .where(case_steps.c.step == "hear2")).scalar_one() == 2  # B03's and B01's
        assert conn.execute(sa.select(sa.func.count()).select_from(referrals)).scalar_one() == 4


def test_city_and_county_leaders_only_read(writable):
    url, engine = writable
    for name in ("city_user", "county_a"):
        with pytest.raises(Refused):
            actions.add_reception(engine, actor_of(name, url), leader="赵一", region_code=COUNTY_A,
                                  held_on=TODAY, place="甲区信访局", level="county", form="接访", held=True, persons=1)
    assert _audit(engine, "reception", "denied") == 2


def test_supervision_runs_a_referral_from_proposal_to_closing(writable):
    url, engine = writable
    supervisor = actor_of("supervisor", url)
    referral_id = actions.add_referral(engine, supervisor, "B01", kind="典型案例", referred_on=TODAY,
                                       approved_by="赵一", receiving_body="甲区纪委监委")
    with pytest.raises(actions.ActionError, match="重复移送"):
        actions.add_referral(engine, supervisor, "B01", kind="一般事项", referred_on=TODAY, approved_by="赵一",
                             receiving_body="甲区纪委监委")
    with pytest.raises(actions.ActionError, match="反馈"):  # no closing before feedback
        actions.update_referral(engine, supervisor, referral_id, closed_on=TODAY)
    actions.update_referral(engine, supervisor, referral_id, finding="推诿扯皮", outcome="约谈责任人",
                            feedback_on=TODAY)
    actions.update_referral(engine, supervisor, referral_id, closed_on=TODAY)
    with engine.connect() as conn:
        row = conn.execute(sa.select(referrals).where(referrals.c.id == referral_id)).one()
        candidates = qa.referral_candidates(conn, scope_for(conn), H1)
    assert (row.kind, row.quarter, row.finding, row.closed_on) == ("typical", "2026Q2", "shirking", TODAY)
    assert _audit(engine, "referral", "ok") == 1 and _audit(engine, "referral_update", "ok") == 2
    assert "B01" in set(candidates["case_no"])  # closed: proposable again


def test_clearance_needs_resolution_and_a_revisit(writable):
    url, engine = writable
    bureau = actor_of("bureau", url)
    with pytest.raises(actions.ActionError, match="尚未化解"):
        actions.clear_backlog_case(engine, bureau, "B01", on=TODAY, approved_by="赵一")
    with pytest.raises(actions.ActionError, match="已于"):
        actions.clear_backlog_case(engine, bureau, "B03", on=TODAY, approved_by="钱二")
    actions.clear_backlog_case(engine, bureau, "B04", on=TODAY, approved_by="钱二（乙县副县长）")  # reopened before
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(clearances.c.kind).order_by(clearances.c.id)).scalars().all()
    assert kinds == ["cleared", "cleared", "reopened", "cleared"]


def test_a_revisit_comes_after_closing(writable):
    url, engine = writable
    with pytest.raises(actions.ActionError, match="尚未办结"):
        actions.add_revisit(engine, actor_of("bureau", url), "C05", revisited_on=TODAY, way="电话回访")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(revisits)).scalar_one() == 4


# ------------------------------------------------------------------ import


def test_import_writes_valid_rows_and_refuses_the_others_row_by_row(writable):
    url, engine = writable
    rows = [
        ["领导接访登记表"],
        ["接访领导", "区划代码", "接访日期", "接访地点", "层级", "形式", "是否举行", "接待人次", "包案信访件编号"],
        ["赵一", A1, "2026/6/2", "东门街道", "县级", "专题接访", "是", "5", "B01"],
        ["赵一", COUNTY_B, "2026-06-03", "乙县", "县级", "接访", "是", "2", ""],  # 乙县: outside 甲区
        ["赵一", A1, "2026年6月4日", "东门街道", "县级", "电话会", "是", "1", ""],  # unknown form
        ["赵一", A1, "昨天", "东门街道", "县级", "接访", "是", "1", ""],  # bad date
        ["", "", "", "", "", "", "", "", ""],
        ["赵一", A1, "2026-06-05", "东门街道", "县级", "接访", "是", "1", "P02"],  # case of 乙县
    ]
    from dashboard.record_import import import_records

    with engine.begin() as conn:
        result: RecordImportResult = import_records(conn, "reception", rows, scope=scope_for(conn, COUNTY_A),
                                                    by="t", at=dt.datetime(2026, 6, 30), today=TODAY)
    assert (result.rows, result.written, result.outside) == (5, 1, 2)
    assert [(r.row, r.column) for r in result.rejected] == [(4, "区划代码"), (5, ""), (6, "接访日期"),
                                                            (8, "包案信访件编号")]
    assert "不存在或不在您的查看范围内" in result.rejected[0].reason
    assert "接访形式" in result.rejected[1].reason
    with engine.connect() as conn:  # the refused row 8 left no reception behind
        assert conn.execute(sa.select(sa.func.count()).select_from(receptions)).scalar_one() == 6


def test_records_import_command(writable, tmp_path, capsys):
    url, engine = writable
    path = tmp_path / "回访.csv"
    path.write_text("信访件编号,回访日期,回访方式,对信访部门满意度,对责任部门满意度\n"
                    "C03,2026-06-01,电话回访,满意,基本满意\nC05,2026-06-01,电话回访,满意,满意\n"
                    "C03,2026-06-02,飞鸽,满意,满意\n", encoding="gbk")
    assert main(["records", "import", "revisit", str(path), "--user", "bureau", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["rows"], out["written"], out["rejected_count"]) == (3, 1, 2)
    assert (tmp_path / "回访.rejected.csv").read_bytes().decode("utf-8-sig").count("\n") == 3
    assert main(["records", "import", "revisit", str(path), "--user", "city_user"]) == 3
    big = tmp_path / "big.csv"
    big.write_text("信访件编号,回访日期,回访方式\n" + "C03,2026-06-01,电话回访\n" * 5001, encoding="utf-8")
    assert main(["records", "import", "revisit", str(big), "--user", "bureau"]) == 2
    assert "5,000" in capsys.readouterr().err


# ------------------------------------------------------------------ command line


def test_kpi_json_has_the_new_keys_and_keeps_the_old(writable, capsys):
    assert main(["kpi", "--json", "--from", "2026-01-01"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == 10 and out["backlog_total"] == 5  # existing keys unchanged
    assert (out["reception_completion_rate"], out["reception_persons"], out["instruction_rate"]) == (0.75, 35, 0.75)
    assert out["referrals"] == {"typical": 2, "general": 1, "closed": 1}
    assert (out["traced"], out["accountability_persons"], out["revisit_rate"]) == (3, 2, 0.6)
    assert out["satisfaction_rate_bureau"] == pytest.approx(2 / 3) and out["satisfaction_rate_authority"] == 0.5
    assert out["backlog_cleared"] == 1


def test_add_and_list_commands(writable, capsys):
    assert main(["referral", "add", "B01", "--kind", "典型案例", "--date", "2026-06-29", "--approved-by", "赵一",
                 "--body", "甲区纪委监委", "--user", "supervisor", "--json"]) == 0
    referral_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["referral", "list", "--user", "county_b", "--json"]) == 0
    assert {r["case_no"] for r in json.loads(capsys.readouterr().out)["rows"]} == {"C08"}
    assert main(["referral", "update", str(referral_id), "--close", "2026-06-30", "--user", "supervisor"]) == 2
    assert "反馈" in capsys.readouterr().err
    assert main(["trace", "add", "P02", "--date", "2026-06-01", "--cause", "x", "--user", "county_a"]) == 3
    assert main(["accountability", "add", "--name", "郑九", "--post", "副局长", "--unit", "甲区住建局", "--level", "县级",
                 "--date", "2026-06-20", "--form", "约谈", "--region", COUNTY_A, "--user", "bureau", "--json"]) == 0
    capsys.readouterr()
    assert main(["accountability", "list", "--region", COUNTY_A, "--json"]) == 0
    names = [r["official_name"] for r in json.loads(capsys.readouterr().out)["rows"]]
    assert names[0] == "郑九" and "周七" not in names
    for command in ("reception", "instruction", "revisit", "trace", "casework"):
        assert main([command, "list", "--json"]) == 0, command
        assert json.loads(capsys.readouterr().out)["count"] > 0, command
    assert main(["reception", "add", "--leader", "赵一", "--region", COUNTY_A, "--date", "2026-06-30", "--place", "x",
                 "--level", "省级", "--form", "接访", "--user", "bureau"]) == 2


# ------------------------------------------------------------------ pages (AppTest)


@pytest.fixture
def app_with_records(app_env):
    engine = db.make_engine(app_env)
    add_records(engine)
    engine.dispose()
    return app_env


def _frames(at) -> list:
    return [getattr(f.value, "data", f.value) for f in at.dataframe]


def test_pages_show_the_records_and_a_referral_is_recorded(app_with_records):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from tests.signin import as_user

    app = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
    at = as_user(AppTest.from_file(app, default_timeout=60), "supervisor")
    at.run()
    at.switch_page("pages/receptions.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric][:2] == ["75.0%", "35"]
    assert any("东门街道信访接待室" in set(f.get("地点", [])) for f in _frames(at))
    at.switch_page("pages/referrals.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric][:3] == ["2", "1", "1"]
    at.text_input(key="referral_approver").input("赵一")
    at.text_input(key="referral_body").input("甲区纪委监委")
    at.selectbox(key="referral_case").select("B01")
    at.button[0].click().run()  # the form's 确认移送; the page is drawn again with the record
    assert not at.exception, [e.value for e in at.exception]
    assert any("已移送 B01" in s.value for s in at.success), [e.value for e in at.error]
    assert [m.value for m in at.metric][:1] == ["3"]
    at.query_params["case"] = "C04"
    at.switch_page("pages/case.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = {str(v) for f in _frames(at) for column in f.columns for v in f[column].tolist()}
    assert {"甲区纪委监委", "确权资料复核", "入户核实、化解稳控"} <= texts
    at.switch_page("pages/leaders.py").run()
    assert not at.exception, [e.value for e in at.exception]
    board = next(f for f in _frames(at) if "四定齐全（件）" in f.columns).set_index("包案领导")
    assert board.loc["赵一", "四定齐全（件）"] == 1 and board.loc["钱二", "缺定措施"] == 2
    assert board.loc["钱二", "2453 完成率"] == pytest.approx(1500 / 42)
