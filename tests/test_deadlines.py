"""Rule presets, computed deadlines, assignments per county and track, extensions."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.deadlines import (
    DEFAULT_PRESETS,
    Preset,
    RuleError,
    assign_preset,
    assignment_history,
    compute,
    edit_preset,
    extend,
    load_presets,
    recompute,
    seed_presets,
)
from dashboard.models import case_events, case_extensions, cases
from dashboard.workdays import WorkCalendar
from entrypoints.cli import main

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


@pytest.mark.parametrize("registered,accepted,acceptance,handling", [
    (D(2026, 7, 10), D(2026, 7, 10), D(2026, 7, 10), D(2026, 7, 10)),  # a Friday: same day
    (D(2026, 7, 5), D(2026, 7, 6), D(2026, 7, 6), D(2026, 7, 6)),  # received on a Sunday
    (D(2026, 10, 3), D(2026, 10, 3), D(2026, 10, 8), D(2026, 10, 8)),  # National Day
    (D(2026, 10, 10), D(2026, 10, 10), D(2026, 10, 10), D(2026, 10, 10)),  # worked Saturday
])
def test_same_day_limits_starting_on_a_rest_day_end_on_the_next_working_day(
    registered, accepted, acceptance, handling
):
    frame = pd.DataFrame([{"registered_on": registered, "accepted_on": accepted, "preset": "tongling-100",
                           "extension_days": 0}])
    row = compute(frame, PRESETS, WorkCalendar()).iloc[0]
    assert (row["acceptance_due"], row["handling_due"]) == (acceptance, handling)


def test_double_sign_meeting_is_for_first_petitions_only():
    frame = pd.DataFrame([
        {"registered_on": RECEIVED, "accepted_on": ACCEPTED, "preset": "double-sign", "extension_days": 0,
         "is_repeat": False},
        {"registered_on": RECEIVED, "accepted_on": ACCEPTED, "preset": "double-sign", "extension_days": 0,
         "is_repeat": True},
    ])
    out = compute(frame, PRESETS, WorkCalendar())
    assert out["meeting_due"].tolist() == [D(2026, 10, 10), None]  # Sat 10 Oct is worked
    assert out["handling_due"].tolist() == [D(2026, 12, 7), D(2026, 12, 7)]


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


# 乙县 (880121): open C05 (registered Wed 20 May, accepted Thu 21 May), C06 (Mon 1 Jun,
# accepted Tue 2 Jun), C07 (Thu 25 Jun), C08 (Wed 10 Jun), B05 (Fri 1 May, accepted Sat
# 2 May); closed B03, B04, P02, P03. 甲区 (880102): open C04, B02; closed C01–C03, B01, P01, P04.


def test_assignment_applies_from_its_date_on(city):
    _, engine = city
    with engine.begin() as conn:
        changed = assign_preset(conn, "880121", "tongling-210", effective_from=D(2026, 6, 1))
    assert changed == 3  # C06 C07 C08; C05 and B05 were registered before 1 June
    # 210: 2 working days to accept, 10 days to handle
    assert (_case(engine, "C06")["preset"], _case(engine, "C06")["acceptance_due"],
            _case(engine, "C06")["handling_due"]) == ("tongling-210", D(2026, 6, 3), D(2026, 6, 12))
    assert _case(engine, "C07")["acceptance_due"] == D(2026, 6, 29)  # Fri 26, weekend, Mon 29
    assert _case(engine, "C08")["acceptance_due"] == D(2026, 6, 12)
    assert (_case(engine, "C05")["preset"], _case(engine, "C05")["handling_due"]) == ("national", D(2026, 7, 20))
    assert _case(engine, "C01")["preset"] == "national"  # 甲区 keeps the city default


def test_closed_cases_keep_the_rule_they_were_handled_under(city):
    _, engine = city
    b03 = _case(engine, "B03")  # closed 20 Mar 2026 under the national rule
    assert (b03["preset"], b03["handling_due"]) == ("national", D(2026, 4, 3))
    with engine.begin() as conn:
        changed = assign_preset(conn, "880121", "tongling-210", effective_from=D(2025, 1, 1))
        assert changed == 5  # the open cases C05 C06 C07 C08 B05
        recompute(conn)  # a later full recompute (holiday or ledger import) keeps them too
    for case_no in ("B03", "B04", "P02", "P03"):
        assert _case(engine, case_no)["preset"] == "national", case_no
    assert _case(engine, "B03")["handling_due"] == D(2026, 4, 3)
    # open ones follow the new rule: accepted + 10 days (Sun 31 May -> Mon 1 Jun)
    assert (_case(engine, "C05")["preset"], _case(engine, "C05")["handling_due"]) == ("tongling-210", D(2026, 6, 1))
    assert _case(engine, "B05")["handling_due"] == D(2026, 5, 12)  # Sat 2 May + 10


def test_assignment_history_county_track_and_city(city):
    _, engine = city
    with engine.begin() as conn:
        assign_preset(conn, "880121", "tongling-210", effective_from=D(2026, 1, 1))
        assign_preset(conn, "880121", "weifang-520", effective_from=D(2026, 6, 1))
        assign_preset(conn, "880121", "national", effective_from=D(2026, 9, 1))
        conn.execute(cases.update().where(cases.c.case_no == "C06").values(track="consultation"))
        assign_preset(conn, "880121", "tongling-100", "consultation", effective_from=D(2026, 1, 1))
        assign_preset(conn, "880100", "weifang-520", effective_from=D(2026, 1, 1))  # new city default
        history = assignment_history(conn, D(2026, 6, 30))
    expected = {"C05": "tongling-210", "B05": "tongling-210",  # registered in May
                "C07": "weifang-520", "C08": "weifang-520",  # registered from 1 June
                "C06": "tongling-100",  # its track's own rule wins over the county's
                "C04": "weifang-520", "B02": "national",  # 甲区: city default from 2026; B02 is of 2025
                "C01": "national"}  # closed
    assert {n: _case(engine, n)["preset"] for n in expected} == expected
    # tongling-100: accepted the day received (Mon 1 Jun), replied the day accepted (2 Jun)
    assert (_case(engine, "C06")["acceptance_due"], _case(engine, "C06")["handling_due"]) == (
        D(2026, 6, 1), D(2026, 6, 2))
    # weifang-520 for C04 (Fri 10 Apr, accepted Sat 11 Apr): 5 working days -> Fri 17 Apr;
    # 20 days -> Fri 1 May, a holiday (1–5 May) -> Wed 6 May
    assert (_case(engine, "C04")["acceptance_due"], _case(engine, "C04")["handling_due"]) == (
        D(2026, 4, 17), D(2026, 5, 6))
    assert history[["region_code", "track", "effective_from", "preset", "status"]].values.tolist() == [
        ["880100", "*", D(2026, 1, 1), "weifang-520", "in_force"],
        ["880121", "*", D(2026, 1, 1), "tongling-210", "superseded"],
        ["880121", "*", D(2026, 6, 1), "weifang-520", "in_force"],
        ["880121", "*", D(2026, 9, 1), "national", "scheduled"],
        ["880121", "consultation", D(2026, 1, 1), "tongling-100", "in_force"],
    ]


def test_same_region_track_and_date_replaces(city):
    _, engine = city
    with engine.begin() as conn:
        assign_preset(conn, "880121", "tongling-210", effective_from=D(2026, 1, 1))
        assign_preset(conn, "880121", "weifang-520", effective_from=D(2026, 1, 1))
        history = assignment_history(conn, D(2026, 6, 30))
    assert history[["effective_from", "preset"]].values.tolist() == [[D(2026, 1, 1), "weifang-520"]]


@pytest.mark.parametrize("region,preset,track,message", [
    ("880121", "nope", None, "没有名为"),
    ("880121001", "national", None, "不是市或县区"),
    ("999999", "national", None, "区划代码 999999 不存在"),
    ("880121", "national", "express", "办理程序"),
])
def test_bad_assignments_are_refused(city, region, preset, track, message):
    _, engine = city
    with pytest.raises(RuleError, match=message), engine.begin() as conn:
        assign_preset(conn, region, preset, track)


@pytest.mark.parametrize("limit,days,unit,changed,expected", [
    # handling 10 days -> 15 working days (Dragon Boat Festival 19 Jun off; Sat 9 May worked)
    ("handling", 15, "working", 3, {"C05": ("handling_due", D(2026, 6, 11)),
                                    "C06": ("handling_due", D(2026, 6, 24)),
                                    "B05": ("handling_due", D(2026, 5, 25))}),
    # acceptance 2 working days -> 3 calendar days, ending on a rest day -> next working day
    ("acceptance", 3, "calendar", 4, {"C05": ("acceptance_due", D(2026, 5, 25)),  # Sat 23 May
                                      "C06": ("acceptance_due", D(2026, 6, 4)),
                                      "C07": ("acceptance_due", D(2026, 6, 29)),  # unchanged
                                      "C08": ("acceptance_due", D(2026, 6, 15)),  # Sat 13 Jun
                                      "B05": ("acceptance_due", D(2026, 5, 6))}),  # Mon 4 May, holiday
    # only the unit: 2 calendar days end on the same day as 2 working days for C05 (Fri 22
    # May), C06 (Wed 3 Jun), C07 (Sat 27 -> Mon 29 Jun), C08 (Fri 12 Jun); B05, received on
    # the holiday Fri 1 May: Sun 3 May -> Wed 6 May instead of the second working day, Thu 7 May
    ("acceptance", None, "calendar", 1, {"C05": ("acceptance_due", D(2026, 5, 22)),
                                         "C08": ("acceptance_due", D(2026, 6, 12)),
                                         "B05": ("acceptance_due", D(2026, 5, 6))}),
])
def test_editing_a_preset_recomputes_open_cases_only(city, limit, days, unit, changed, expected):
    _, engine = city
    with engine.begin() as conn:
        assign_preset(conn, "880121", "tongling-210", effective_from=D(2025, 1, 1))
        assert edit_preset(conn, "tongling-210", limit, days=days, unit=unit, by="测试") == changed
        preset = load_presets(conn)["tongling-210"]
    for case_no, (column, due) in expected.items():
        assert _case(engine, case_no)[column] == due, case_no
    assert preset.updated_by == "测试" and preset.limit(limit)[1] == unit


def test_editing_the_national_rule_leaves_closed_cases_alone(city):
    _, engine = city
    with engine.begin() as conn:
        # open national cases: C05 C06 C07 C08 B05 (乙县) and C04 B02 (甲区); 5 are accepted
        assert edit_preset(conn, "national", "handling", days=30) == 5
    assert _case(engine, "C04")["handling_due"] == D(2026, 5, 11)  # Sat 11 Apr + 30
    assert _case(engine, "B02")["handling_due"] == D(2025, 7, 2)  # Mon 2 Jun 2025 + 30
    assert _case(engine, "C01")["handling_due"] == D(2026, 3, 13)  # closed: 60 days as handled
    # closed backlog: kept (2 Mar 2025 + 60 = 1 May, Labour Day holiday 1–5 May -> 6 May)
    assert _case(engine, "B01")["handling_due"] == D(2025, 5, 6)


@pytest.mark.parametrize("name,limit,days,unit,message", [
    ("nope", "handling", 5, None, "没有名为"),
    ("national", "closing", 5, None, "时限 'closing' 不存在"),
    ("national", "handling", None, None, "请给出新的天数"),
    ("national", "handling", 400, None, "0 至 365"),
    ("national", "handling", -1, None, "0 至 365"),
    ("national", "handling", None, "weeks", "calendar（自然日）或 working（工作日）"),
    ("tongling-210", "feedback", None, "working", "没有初步反馈时限"),
])
def test_bad_preset_edits_are_refused(city, name, limit, days, unit, message):
    _, engine = city
    with pytest.raises(RuleError, match=message), engine.begin() as conn:
        edit_preset(conn, name, limit, days=days, unit=unit)


def test_allowing_an_extension_under_a_local_preset(city):
    _, engine = city
    with engine.begin() as conn:
        assign_preset(conn, "880121", "tongling-210", effective_from=D(2025, 1, 1))  # C05 due Mon 1 Jun
        edit_preset(conn, "tongling-210", "extension", days=10)
    with pytest.raises(RuleError, match="1 至 10 日"), engine.begin() as conn:
        extend(conn, "C05", 11, reason="需要鉴定", approver="局长", on=D(2026, 5, 28))
    with engine.begin() as conn:
        assert extend(conn, "C05", 10, reason="需要鉴定", approver="局长", on=D(2026, 5, 28)) == D(2026, 6, 11)
        edit_preset(conn, "tongling-210", "extension", days=0)
        assert load_presets(conn)["tongling-210"].max_extensions == 0


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


@pytest.mark.parametrize("on,outcome", [
    (D(2026, 7, 20), D(2026, 8, 19)),  # on the deadline day itself: still possible
    (D(2026, 7, 21), "办理期限 2026-07-20 已过"),
    (D(2026, 9, 1), "延期须在办理期限届满前批准"),
])
def test_extension_must_be_approved_before_the_deadline(city, on, outcome):
    _, engine = city  # C05: handling due Mon 20 Jul 2026
    if isinstance(outcome, str):
        with pytest.raises(RuleError, match=outcome), engine.begin() as conn:
            extend(conn, "C05", 30, reason="需要鉴定", approver="局长", on=on)
        assert _case(engine, "C05")["extension_days"] == 0
    else:
        with engine.begin() as conn:
            assert extend(conn, "C05", 30, reason="需要鉴定", approver="局长", on=on) == outcome


def test_local_preset_allows_no_extension(city):
    _, engine = city
    with engine.begin() as conn:
        assign_preset(conn, "880121", "tongling-210", effective_from=D(2025, 1, 1))
    with pytest.raises(RuleError, match="不允许延期"), engine.begin() as conn:
        extend(conn, "C05", 5, reason="r", approver="a", on=D(2026, 5, 25))


def test_double_sign_on_the_fixture_city(city):
    _, engine = city
    with engine.begin() as conn:
        conn.execute(cases.update().where(cases.c.case_no == "C06").values(is_repeat=True))
        assign_preset(conn, "880121", "double-sign", effective_from=D(2025, 1, 1))
    assert _case(engine, "C05")["meeting_due"] == D(2026, 5, 25)  # Wed 20 May + 3 working days
    assert _case(engine, "C06")["meeting_due"] is None  # a repeat petition


def test_cli_rules_case_and_extend(city, capsys, monkeypatch):
    url, _ = city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    assert main(["rules", "assign", "--user", "bureau", "--region", "880121", "--preset", "weifang-520", "--from", "2026-06-01"]) == 0
    assert "自 2026-06-01 起" in capsys.readouterr().out
    assert main(["rules", "assign", "--user", "bureau", "--region", "880121", "--preset", "national", "--track", "green"]) == 0
    assert "自 2026-06-30 起" in capsys.readouterr().out  # default: today
    assert main(["rules", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed["presets"]][:2] == ["national", "tongling-210"]
    assert listed["assignments"] == [
        {"region": "880121", "region_name": "乙县", "track": "*", "preset": "weifang-520",
         "effective_from": "2026-06-01", "status": "in_force"},
        {"region": "880121", "region_name": "乙县", "track": "green", "preset": "national",
         "effective_from": "2026-06-30", "status": "in_force"},
    ]
    assert main(["rules", "list"]) == 0
    text = capsys.readouterr().out
    assert "复查、复核各 30 日" in text and "880121 乙县 全部程序 自 2026-06-01 起 → 潍坊“520”（现行）" in text
    assert main(["case", "C06", "--json"]) == 0
    c06 = json.loads(capsys.readouterr().out)
    # registered Mon 1 Jun, accepted Tue 2 Jun; 520: 5 working days, 20 days
    assert {k: c06[k] for k in ("case_no", "preset", "acceptance_due", "handling_due", "color",
                                "days_left", "provisional", "reminders")} == {
        "case_no": "C06", "preset": "weifang-520", "acceptance_due": "2026-06-08",
        "handling_due": "2026-06-22", "color": "red", "days_left": -8, "provisional": False,
        "reminders": [],
    }
    assert main(["case", "C05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["preset"] == "national"  # registered 20 May
    assert main(["extend", "--user", "bureau", "C05", "--days", "30", "--reason", "等待鉴定", "--approver", "张局长"]) == 0
    assert "新的办理期限 2026-08-19" in capsys.readouterr().out  # 20 Jul + 30
    assert main(["extend", "--user", "bureau", "C04", "--days", "30", "--reason", "等待鉴定", "--approver", "张局长"]) == 2
    assert "办理期限 2026-06-10 已过" in capsys.readouterr().err
    assert main(["rules", "edit", "--user", "bureau", "weifang-520", "--limit", "handling", "--days", "30"]) == 0
    assert "重新计算未办结案件的期限 1 件" in capsys.readouterr().out  # C06 (C07, C08 not accepted)
    assert main(["case", "C06", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["handling_due"] == "2026-07-02"  # 2 Jun + 30
    with pytest.raises(SystemExit) as usage:
        main(["rules", "edit", "--user", "bureau", "weifang-520", "--limit", "handling", "--unit", "weeks"])
    assert usage.value.code == 2 and "参数错误" in capsys.readouterr().err
    assert main(["rules", "edit", "--user", "bureau", "weifang-520", "--limit", "feedback", "--unit", "working"]) == 2
    assert "没有初步反馈时限" in capsys.readouterr().err
    assert main(["case", "C01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["color"] is None  # closed
    assert main(["case", "NOPE"]) == 2
    assert "不存在" in capsys.readouterr().err
    assert main(["rules", "assign", "--user", "bureau", "--region", "999999", "--preset", "national"]) == 2
    assert "区划代码 999999 不存在" in capsys.readouterr().err
