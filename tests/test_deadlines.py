"""Rule presets, computed deadlines, assignments per county and track, extensions."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.cli import main
from dashboard.deadlines import (
    DEFAULT_PRESETS,
    Preset,
    RuleError,
    assign_preset,
    compute,
    extend,
    recompute,
    seed_presets,
)
from dashboard.models import case_events, case_extensions, cases
from dashboard.workdays import WorkCalendar

D = dt.date
PRESETS = {p["name"]: Preset(**p) for p in DEFAULT_PRESETS}

# A case received Wed 30 Sep 2026 and accepted Thu 8 Oct 2026 (after National Day).
RECEIVED, ACCEPTED = D(2026, 9, 30), D(2026, 10, 8)


@pytest.mark.parametrize("preset,acceptance,handling,feedback,meeting", [
    ("national", D(2026, 10, 15), D(2026, 12, 7), None, None),
    ("tongling-210", D(2026, 10, 9), D(2026, 10, 19), None, None),  # day 10 = Sun 18 Oct
    ("tongling-110", D(2026, 10, 8), D(2026, 10, 19), None, None),
    ("tongling-100", D(2026, 9, 30), D(2026, 10, 8), None, None),  # same day
    ("weifang-520", D(2026, 10, 13), D(2026, 10, 28), None, None),  # Sat 10 Oct is worked
    ("green-channel", D(2026, 10, 13), D(2026, 10, 28), D(2026, 10, 8), None),  # 7 Oct off
    ("double-sign", D(2026, 10, 15), D(2026, 12, 7), None, D(2026, 10, 10)),
])
def test_each_preset(preset, acceptance, handling, feedback, meeting):
    frame = pd.DataFrame([{"registered_on": RECEIVED, "accepted_on": ACCEPTED, "preset": preset,
                           "extension_days": 0}])
    row = compute(frame, PRESETS, WorkCalendar()).iloc[0]
    assert (row["acceptance_due"], row["handling_due"], row["feedback_due"], row["meeting_due"]) == (
        acceptance, handling, feedback, meeting)
    assert not row["deadline_provisional"]


def test_not_accepted_has_no_handling_deadline_and_2027_is_provisional():
    frame = pd.DataFrame([
        {"registered_on": D(2026, 12, 20), "accepted_on": None, "preset": "national", "extension_days": 0},
        {"registered_on": D(2026, 12, 1), "accepted_on": D(2026, 12, 2), "preset": "national", "extension_days": 0},
    ])
    out = compute(frame, PRESETS, WorkCalendar())
    assert out.loc[0, "acceptance_due"] == D(2027, 1, 4)  # Mon; 2027 counted by weekends
    assert out.loc[0, "handling_due"] is None
    assert out["deadline_provisional"].tolist() == [True, True]  # 2 Dec + 60 = 31 Jan 2027


@pytest.fixture
def city(writable_city):
    url, engine = writable_city
    with engine.begin() as conn:
        seed_presets(conn)
        recompute(conn)
    return url, engine


def _case(engine, case_no):
    with engine.connect() as conn:
        return conn.execute(sa.select(cases).where(cases.c.case_no == case_no)).mappings().one()


def test_recompute_replaces_stored_deadlines(city):
    _, engine = city
    c01 = _case(engine, "C01")  # registered Sat 10 Jan, accepted Mon 12 Jan 2026
    assert (c01["preset"], c01["acceptance_due"], c01["handling_due"]) == (
        "national", D(2026, 1, 26), D(2026, 3, 13))  # day 15 = Sun 25 Jan
    with engine.begin() as conn:
        assert recompute(conn) == 0  # nothing changes twice


def test_assignment_by_county_and_track(city):
    _, engine = city
    with engine.begin() as conn:
        changed = assign_preset(conn, "880121", "tongling-210")
        assert changed == 9  # every case of 乙县: C05–C08, B03–B05, P02, P03
    c05 = _case(engine, "C05")  # accepted Thu 21 May 2026
    assert (c05["preset"], c05["handling_due"]) == ("tongling-210", D(2026, 6, 1))  # Sun 31 May
    assert _case(engine, "C01")["preset"] == "national"  # 甲区 keeps the city default
    with engine.begin() as conn:
        conn.execute(cases.update().where(cases.c.case_no == "C06").values(track="consultation"))
        assign_preset(conn, "880121", "tongling-100", "consultation")
    assert _case(engine, "C06")["preset"] == "tongling-100"
    assert _case(engine, "C06")["handling_due"] == D(2026, 6, 2)  # same day as accepted
    assert _case(engine, "C05")["preset"] == "tongling-210"
    with engine.begin() as conn:
        assign_preset(conn, "880100", "weifang-520")  # new city default
    assert _case(engine, "C01")["preset"] == "weifang-520"
    assert _case(engine, "C05")["preset"] == "tongling-210"  # the county's own choice wins


@pytest.mark.parametrize("region,preset,track,message", [
    ("880121", "nope", None, "没有名为"),
    ("880121001", "national", None, "不是市或县区"),
    ("880121", "national", "express", "办理程序"),
])
def test_bad_assignments_are_refused(city, region, preset, track, message):
    _, engine = city
    with pytest.raises(RuleError, match=message), engine.begin() as conn:
        assign_preset(conn, region, preset, track)


def test_extension_within_and_beyond_the_maximum(city):
    _, engine = city
    assert _case(engine, "C05")["handling_due"] == D(2026, 7, 20)  # 21 May + 60
    with pytest.raises(RuleError, match="1 至 30 日"), engine.begin() as conn:
        extend(conn, "C05", 31, reason="需要鉴定", approver="局长", on=D(2026, 6, 30))
    with engine.begin() as conn:
        assert extend(conn, "C05", 30, reason="需要鉴定", approver="局长", on=D(2026, 6, 30)) == D(2026, 8, 19)
    with pytest.raises(RuleError, match="最多延期 1 次"), engine.begin() as conn:
        extend(conn, "C05", 5, reason="再延", approver="局长", on=D(2026, 7, 1))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(case_extensions)).scalar() == 1
        note = conn.execute(sa.select(case_events.c.note).where(case_events.c.kind == "extended")).scalar()
    assert note == "延期 30 日：需要鉴定"
    with engine.begin() as conn:  # recomputing keeps the extension
        recompute(conn)
    assert _case(engine, "C05")["handling_due"] == D(2026, 8, 19)


@pytest.mark.parametrize("case_no,message", [
    ("C01", "不在办理中"),  # closed
    ("C07", "不在办理中"),  # not accepted
    ("X99", "不存在"),
])
def test_extension_refused_for_cases_not_in_handling(city, case_no, message):
    _, engine = city
    with pytest.raises(RuleError, match=message), engine.begin() as conn:
        extend(conn, case_no, 10, reason="r", approver="a", on=D(2026, 6, 30))


def test_local_preset_allows_no_extension(city):
    _, engine = city
    with engine.begin() as conn:
        assign_preset(conn, "880121", "tongling-210")
    with pytest.raises(RuleError, match="不允许延期"), engine.begin() as conn:
        extend(conn, "C05", 5, reason="r", approver="a", on=D(2026, 5, 25))


def test_cli_rules_case_and_extend(city, capsys, monkeypatch):
    url, _ = city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    assert main(["rules", "assign", "--region", "880121", "--preset", "weifang-520"]) == 0
    capsys.readouterr()
    assert main(["rules", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed["presets"]][:2] == ["national", "tongling-210"]
    assert listed["assignments"] == [
        {"region": "880121", "region_name": "乙县", "track": "*", "preset": "weifang-520"}]
    assert main(["case", "C06", "--json"]) == 0
    c06 = json.loads(capsys.readouterr().out)
    # registered Mon 1 Jun, accepted Tue 2 Jun; 520: 5 working days, 20 days
    assert {k: c06[k] for k in ("case_no", "preset", "acceptance_due", "handling_due", "color",
                                "days_left", "provisional", "reminders")} == {
        "case_no": "C06", "preset": "weifang-520", "acceptance_due": "2026-06-08",
        "handling_due": "2026-06-22", "color": "red", "days_left": -8, "provisional": False,
        "reminders": [],
    }
    assert main(["extend", "C04", "--days", "30", "--reason", "等待鉴定", "--approver", "张局长"]) == 0
    assert "新的办理期限 2026-07-10" in capsys.readouterr().out  # 10 Jun + 30
    assert main(["case", "C01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["color"] is None  # closed
    assert main(["case", "NOPE"]) == 2
    assert "不存在" in capsys.readouterr().err
