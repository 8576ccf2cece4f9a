"""The case timeline (dashboard/timeline.py): every step of the chain against the limits
of the case's preset, counted in working or calendar days; and the case page showing it.

Holidays come from the chinese-calendar package (2026: 1–7 Oct off, Sat 10 Oct a
working day, domain.md §4)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.deadlines import DEFAULT_PRESETS, Preset, recompute
from dashboard.models import case_events, cases
from dashboard.timeline import days_between, describe_spent, stage_durations
from dashboard.workdays import CALENDAR, WORKING, WorkCalendar
from tests.test_pages import _open, _table_with

D = dt.date
PRESETS = {p["name"]: Preset(**p) for p in DEFAULT_PRESETS}
CALENDAR_2026 = WorkCalendar()


def _case(**fields) -> dict:
    base = dict(registered_on=None, accepted_on=None, replied_on=None, closed_on=None, resolved_on=None,
                is_backlog=False, acceptance_due=None, handling_due=None, feedback_due=None, meeting_due=None,
                clearance_target=None, extension_days=0)
    return base | fields


def _events(*pairs) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["kind", "at"])


def test_days_between_counts_working_days_over_the_national_day_holiday():
    # After Wed 30 Sep: 1–7 Oct off, Thu 8, Fri 9, Sat 10 (swap) working, Sun 11 off, Mon 12.
    assert days_between(CALENDAR_2026, D(2026, 9, 30), D(2026, 10, 9), WORKING) == 2
    assert days_between(CALENDAR_2026, D(2026, 9, 30), D(2026, 10, 12), WORKING) == 4
    assert days_between(CALENDAR_2026, D(2026, 9, 30), D(2026, 10, 12), CALENDAR) == 12
    assert days_between(CALENDAR_2026, D(2026, 9, 30), D(2026, 9, 30), WORKING) == 0


def test_double_sign_case_in_handling_with_an_extension():
    # Received Wed 30 Sep 2026 under 潍坊“双签”: accept within 15 days (→ Thu 15 Oct), meet
    # the petitioner within 3 working days (→ Sat 10 Oct, a swapped working day), handle
    # within 60 days of acceptance (9 Oct → 8 Dec) plus an approved 30-day extension → 7 Jan.
    case = _case(registered_on=D(2026, 9, 30), accepted_on=D(2026, 10, 9), acceptance_due=D(2026, 10, 15),
                 meeting_due=D(2026, 10, 10), handling_due=D(2027, 1, 7), extension_days=30)
    events = _events(("dispatched", "2026-09-30 09:00"), ("accepted", "2026-10-09 10:30"),
                     ("contacted", "2026-10-12 15:00"), ("handled", "2026-10-20 11:00"),
                     ("extended", "2026-11-02 09:00"), ("replied", "2026-12-01 10:00"))  # after as_of: ignored
    stages = stage_durations(case, events, PRESETS["double-sign"], CALENDAR_2026, D(2026, 11, 20))
    assert stages["step"].tolist() == ["dispatched", "accepted", "contacted", "handled", "feedback"]
    rows = stages.set_index("step")
    assert rows.loc["accepted", "limit"] == "受理时限：15 日（自然日），期限 2026-10-15"
    assert rows.loc["accepted", ["used", "allowed", "unit", "overdue", "status"]].tolist() == [
        9, 15, CALENDAR, False, "按期"]
    assert rows.loc["accepted", "spent_days"] == pytest.approx(9 + 1.5 / 24)  # 30 Sep 09:00 → 9 Oct 10:30
    # Met on Mon 12 Oct: the 4th working day (8, 9, 10, 12 Oct) of 3 allowed.
    assert rows.loc["contacted", "limit"] == "见面双签时限：3 个工作日，期限 2026-10-10"
    assert rows.loc["contacted", ["used", "allowed", "unit", "overdue", "status"]].tolist() == [
        4, 3, WORKING, True, "超期"]
    assert rows.loc["contacted", "spent_days"] == pytest.approx(3 + 4.5 / 24)
    assert rows.loc["handled", ["status", "overdue"]].tolist() == ["完成", False]
    assert rows.loc["handled", "spent_days"] == pytest.approx(7 + 20 / 24)  # 12 Oct 15:00 → 20 Oct 11:00
    # Not closed yet: the handling limit runs, 42 of 60 + 30 calendar days used (9 Oct → 20 Nov).
    assert rows.loc["feedback", "limit"] == "办理时限：60 日（自然日） + 延期 30 日，期限 2027-01-07"
    assert rows.loc["feedback", ["used", "allowed", "ongoing", "overdue", "status"]].tolist() == [
        42, 90, True, False, "进行中"]
    assert pd.isna(rows.loc["feedback", "at"])
    assert [describe_spent(d) for d in stages["spent_days"]] == [
        "—", "9 天 1 小时", "3 天 4 小时", "7 天 20 小时", "30 天 13 小时"]


def test_green_channel_case_closed_and_evaluated():
    # 潍坊绿色通道, received Mon 2 Mar 2026: accept within 5 working days (→ Mon 9 Mar), initial
    # feedback within 7 days (→ Mon 9 Mar), close within 20 days of acceptance (4 Mar → 24 Mar).
    case = _case(registered_on=D(2026, 3, 2), accepted_on=D(2026, 3, 4), acceptance_due=D(2026, 3, 9),
                 feedback_due=D(2026, 3, 9), handling_due=D(2026, 3, 24), replied_on=D(2026, 3, 20),
                 closed_on=D(2026, 3, 23))
    events = _events(("dispatched", "2026-03-02 09:00"), ("accepted", "2026-03-04 10:00"),
                     ("replied", "2026-03-20 16:00"), ("feedback", "2026-03-23 09:30"),
                     ("evaluated", "2026-03-25 14:00"))
    stages = stage_durations(case, events, PRESETS["green-channel"], CALENDAR_2026, D(2026, 6, 30))
    rows = stages.set_index("step")
    assert stages["step"].tolist() == ["dispatched", "accepted", "contacted", "replied", "feedback", "evaluated"]
    assert rows.loc["accepted", "limit"] == "受理时限：5 个工作日，期限 2026-03-09"
    assert rows.loc["accepted", ["used", "allowed", "status"]].tolist() == [2, 5, "按期"]  # 3, 4 Mar
    # The case is closed but no contact was recorded: the initial-feedback limit cannot be judged.
    assert rows.loc["contacted", "limit"] == "初步反馈时限：7 日（自然日），期限 2026-03-09"
    assert rows.loc["contacted", ["status", "overdue", "ongoing"]].tolist() == ["无记录", False, False]
    assert pd.isna(rows.loc["contacted", "used"])
    assert rows.loc["replied", "spent_days"] == pytest.approx(16 + 6 / 24)  # from acceptance
    assert rows.loc["feedback", ["used", "allowed", "overdue", "status"]].tolist() == [19, 20, False, "按期"]
    assert describe_spent(rows.loc["feedback", "spent_days"]) == "2 天 17 小时"  # 20 Mar 16:00 → 23 Mar 09:30
    assert rows.loc["evaluated", ["status", "limit"]].tolist() == ["完成", ""]


def test_backlog_case_from_ledger_dates_only():
    # Fixture case B02 has no events and no preset: its dates and stored deadlines are used.
    case = _case(registered_on=D(2025, 6, 1), accepted_on=D(2025, 6, 2), acceptance_due=D(2025, 6, 16),
                 handling_due=D(2025, 8, 1), is_backlog=True, clearance_target=D(2026, 3, 31))
    stages = stage_durations(case, _events(), None, CALENDAR_2026, D(2026, 6, 30))
    assert stages["step"].tolist() == ["dispatched", "accepted", "feedback", "resolved"]
    rows = stages.set_index("step")
    assert rows["dated_only"].tolist() == [True, True, True, True]
    assert rows.loc["accepted", ["limit", "status", "spent_days"]].tolist() == ["受理时限：期限 2025-06-16", "按期", 1]
    assert rows.loc["feedback", ["status", "overdue", "spent_days"]].tolist() == ["进行中·已超期", True, 393]
    assert rows.loc["resolved", "limit"] == "积案化解：目标日期 2026-03-31"
    assert rows.loc["resolved", ["status", "overdue"]].tolist() == ["进行中·已超期", True]
    assert describe_spent(rows.loc["feedback", "spent_days"], dated_only=True) == "393 天"


def test_case_page_shows_the_chain_against_the_preset(app_env):
    engine = sa.create_engine(app_env)
    with engine.begin() as conn:  # C06 (南山镇, in handling), its deadlines computed by the national rule
        recompute(conn, cases.c.case_no == "C06")
        conn.execute(case_events.insert(), [
            dict(case_id=6, kind="dispatched", at=dt.datetime(2026, 6, 1, 9, 0), actor="市信访局", note="转办"),
            dict(case_id=6, kind="accepted", at=dt.datetime(2026, 6, 2, 10, 0), actor="南山镇人民政府", note="受理"),
            dict(case_id=6, kind="contacted", at=dt.datetime(2026, 6, 5, 15, 30), actor="南山镇人民政府",
                 note="电话联系"),
        ])
    engine.dispose()
    at = _open("pages/case.py", case="C06")
    table = _table_with(at, "时限内用时")
    assert table["环节"].tolist() == ["交办", "受理", "联系信访人", "办结反馈"]
    assert table["时间"].tolist() == ["2026-06-01 09:00", "2026-06-02 10:00", "2026-06-05 15:30", "—"]
    assert table["距上一环节"].tolist() == ["—", "1 天 1 小时", "3 天 5 小时", "24 天 8 小时"]
    # Received Mon 1 Jun: accept by Tue 16 Jun (15 days); accepted 2 Jun, so handle within 60
    # days: Sat 1 Aug, a rest day, moves to Mon 3 Aug. By 30 Jun 28 of the 60 days are used.
    assert table["适用时限"].tolist() == ["—", "受理时限：15 日（自然日），期限 2026-06-16", "—",
                                      "办理时限：60 日（自然日），期限 2026-08-03"]
    assert table["时限内用时"].tolist() == ["—", "1 / 15 日", "—", "28 / 60 日"]
    assert table["状态"].tolist() == ["完成", "按期", "完成", "进行中"]
    # Every table on the page can be downloaded.
    downloads = {b.proto.label for b in at.get("download_button")}
    assert downloads == {"下载 Excel", "下载 CSV"}
    keys = {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}
    assert {"case_info_download_xlsx", "case_stages_download_xlsx", "case_events_download_csv"} <= keys
