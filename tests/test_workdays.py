"""Working-day calendar and deadline arithmetic (domain.md §4); expected dates by hand
from the State Council 2026 schedule: Spring Festival 15–23 Feb off with Sat 14 and
Sat 28 Feb worked; National Day 1–7 Oct off with Sun 20 Sep and Sat 10 Oct worked."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dashboard.workdays import (
    CalendarFileError,
    HolidayRow,
    WorkCalendar,
    YearImport,
    import_holidays,
    load_calendar,
    parse_holiday_csv,
    plan_import,
    schedule_warnings,
    schedule_years,
)

D = dt.date
PACKAGE = WorkCalendar()

SCHEDULE_2027 = """日期,类型,名称
2027-01-01,holiday,元旦
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-12,holiday,春节
2027-02-13,holiday,春节
2027-02-14,holiday,春节
2027-02-20,workday,春节调休上班
""".encode()


@pytest.mark.parametrize("start,days,unit,due", [
    # domain.md §4 worked examples
    (D(2026, 9, 30), 2, "working", D(2026, 10, 9)),
    (D(2026, 9, 16), 15, "calendar", D(2026, 10, 8)),
    # Spring Festival 2026 and its swapped Saturdays
    (D(2026, 2, 13), 1, "working", D(2026, 2, 14)),  # Sat 14 Feb is a working day
    (D(2026, 2, 14), 2, "working", D(2026, 2, 25)),  # 15–23 Feb off
    (D(2026, 2, 26), 2, "working", D(2026, 2, 28)),  # Sat 28 Feb is a working day
    (D(2026, 2, 6), 15, "calendar", D(2026, 2, 24)),  # day 15 = Sat 21 Feb, in the holiday
    (D(2026, 1, 30), 15, "calendar", D(2026, 2, 14)),  # ends on the worked Saturday: stays
    # National Day 2026 and its swapped weekend days
    (D(2026, 9, 5), 15, "calendar", D(2026, 9, 20)),  # Sun 20 Sep is a working day
    (D(2026, 9, 18), 2, "working", D(2026, 9, 21)),  # Sat 19 off, Sun 20 worked, Mon 21
    (D(2026, 10, 9), 1, "working", D(2026, 10, 10)),  # Sat 10 Oct worked
    (D(2026, 9, 22), 10, "calendar", D(2026, 10, 8)),  # day 10 = 2 Oct
    # ordinary weekends
    (D(2026, 7, 1), 4, "calendar", D(2026, 7, 6)),  # Sun 5 Jul -> Mon 6 Jul
    (D(2026, 7, 10), 5, "working", D(2026, 7, 17)),
    # same-day limits (Tongling 100): a rest day moves to the next working day
    (D(2026, 7, 10), 0, "working", D(2026, 7, 10)),  # Friday
    (D(2026, 7, 5), 0, "working", D(2026, 7, 6)),  # Sunday -> Monday
    (D(2026, 7, 5), 0, "calendar", D(2026, 7, 6)),
    (D(2026, 10, 1), 0, "working", D(2026, 10, 8)),  # National Day -> Thu 8 Oct
    (D(2026, 2, 15), 0, "working", D(2026, 2, 24)),  # Spring Festival -> Tue 24 Feb
    (D(2026, 10, 10), 0, "working", D(2026, 10, 10)),  # worked Saturday: same day
    (D(2026, 10, 8), 60, "calendar", D(2026, 12, 7)),
])
def test_deadlines_2026(start, days, unit, due):
    assert PACKAGE.add_one(start, days, unit) == (due, False)


@pytest.mark.parametrize("start,days,unit,without_schedule,with_schedule", [
    (D(2026, 12, 31), 2, "working", D(2027, 1, 4), D(2027, 1, 5)),  # 1 Jan 2027 off
    (D(2027, 1, 24), 15, "calendar", D(2027, 2, 8), D(2027, 2, 15)),  # 8 Feb in 春节
    (D(2027, 2, 19), 1, "working", D(2027, 2, 22), D(2027, 2, 20)),  # Sat 20 Feb worked
    (D(2026, 12, 28), 15, "calendar", D(2027, 1, 12), D(2027, 1, 12)),
])
def test_deadlines_in_2027_are_provisional_until_imported(
    writable_city, start, days, unit, without_schedule, with_schedule
):
    _, engine = writable_city
    with engine.connect() as conn:
        assert load_calendar(conn).add_one(start, days, unit) == (without_schedule, True)
    with engine.begin() as conn:
        import_holidays(conn, parse_holiday_csv(SCHEDULE_2027, "2027.csv"))
    with engine.connect() as conn:
        calendar = load_calendar(conn)
        assert calendar.has_schedule(2027) and calendar.source(2027) == "table"
        assert calendar.add_one(start, days, unit) == (with_schedule, False)


def test_a_deadline_within_a_covered_year_is_not_provisional():
    assert PACKAGE.add_one(D(2026, 11, 1), 15, "calendar") == (D(2026, 11, 16), False)


def test_rows_for_a_package_year_correct_single_days(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        # The one-line file of the audit: it must not throw away the rest of 2026.
        plans = import_holidays(conn, parse_holiday_csv(b"2026-12-31,holiday,x\n"))
    assert plans == [YearImport(2026, 1, "correction", 0)]
    with engine.connect() as conn:
        calendar = load_calendar(conn)
    assert calendar.add_one(D(2026, 9, 30), 2, "working") == (D(2026, 10, 9), False)  # National Day kept
    assert not calendar.is_workday(D(2026, 12, 31))  # the corrected day (a Thursday)
    assert not calendar.is_workday(D(2026, 10, 5)) and calendar.is_workday(D(2026, 10, 10))
    assert calendar.source(2026) == "package"
    with engine.begin() as conn:
        # A correction of Mon 6 Jul 2026 into a rest day; 31 Dec corrected back.
        plans = import_holidays(conn, [HolidayRow(D(2026, 7, 6), "holiday", "测试"),
                                       HolidayRow(D(2026, 12, 31), "workday", "")])
    assert plans == [YearImport(2026, 2, "correction", 1)]  # 31 Dec was stored already
    with engine.connect() as conn:
        calendar = load_calendar(conn)
        years = {y["year"]: y for y in schedule_years(conn)}
    assert calendar.add_one(D(2026, 7, 1), 4, "calendar") == (D(2026, 7, 7), False)  # Sun 5, Mon 6 off
    assert calendar.is_workday(D(2026, 12, 31))
    assert (years[2026]["source"], years[2026]["table_rows"], years[2026]["warnings"]) == ("package", 2, [])


def test_import_of_a_year_without_package_replaces_that_year(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        first = import_holidays(conn, parse_holiday_csv(SCHEDULE_2027))
        plan = plan_import(conn, [HolidayRow(D(2027, 1, 1), "holiday", "元旦")])
        second = import_holidays(conn, [HolidayRow(D(2027, 1, 1), "holiday", "元旦")])
    assert (first[0].year, first[0].rows, first[0].mode, first[0].replaced) == (2027, 11, "schedule", 0)
    assert second == plan and (second[0].rows, second[0].replaced) == (1, 11)
    assert second[0].describe() == "2027 年：1 天，作为该年的全部节假日安排，替换此前导入的 11 天。"
    with engine.connect() as conn:
        assert load_calendar(conn).is_workday(D(2027, 2, 8))  # Monday: 春节 no longer listed


# A plausible complete schedule (all seven festivals) for a year the package lacks.
COMPLETE_2028 = [HolidayRow(D(2028, 1, 1) + dt.timedelta(i), "holiday", "元旦") for i in range(3)] + [
    HolidayRow(D(2028, 1, 25) + dt.timedelta(i), "holiday", "春节") for i in range(8)] + [
    HolidayRow(D(2028, 4, 2) + dt.timedelta(i), "holiday", "清明") for i in range(3)] + [
    HolidayRow(D(2028, 5, 1) + dt.timedelta(i), "holiday", "劳动节") for i in range(5)] + [
    HolidayRow(D(2028, 5, 28) + dt.timedelta(i), "holiday", "端午") for i in range(3)] + [
    HolidayRow(D(2028, 10, 1) + dt.timedelta(i), "holiday", "国庆、中秋") for i in range(8)] + [
    HolidayRow(D(2028, 2, 5), "workday", "春节调休")]


def test_an_incomplete_schedule_is_flagged():
    # SCHEDULE_2027 has 元旦 (Fri 1 Jan) and 春节 (weekdays 8–12 Feb): 6 weekdays off, no National Day.
    rows = parse_holiday_csv(SCHEDULE_2027)
    [warning] = schedule_warnings(2027, rows)
    assert "2027 年的安排可能不完整" in warning and "只有 6 天" in warning and "没有国庆节" in warning
    assert "春节" not in warning.split("：", 1)[1].split("。")[0]
    [warning] = schedule_warnings(2027, rows[:1])
    assert "没有春节" in warning and "没有国庆节" in warning
    # Jan 3; Jan 25–28, 31, Feb 1; Apr 3–4; May 1–5; May 29–30; Oct 2–6: 21 weekdays off
    assert schedule_warnings(2028, COMPLETE_2028) == []


def test_incomplete_schedule_warnings_on_import_and_listing(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        [plan] = import_holidays(conn, parse_holiday_csv(SCHEDULE_2027))
        years = {y["year"]: y for y in schedule_years(conn)}
    assert plan.warnings and "没有国庆节" in plan.warnings[0]
    assert years[2027]["source"] == "table" and years[2027]["warnings"] == list(plan.warnings)
    with engine.begin() as conn:
        [plan] = import_holidays(conn, COMPLETE_2028)
    assert plan.warnings == ()


def test_working_day_on_or_before_and_next():
    days = np.array(["2026-06-21", "2026-10-07", "2026-10-10", "2026-01-01", "NaT"], dtype="datetime64[D]")
    assert PACKAGE.on_or_before(days).tolist() == [D(2026, 6, 18), D(2026, 9, 30), D(2026, 10, 10),
                                                   D(2025, 12, 31), None]
    assert PACKAGE.next_workday(D(2026, 9, 30)) == D(2026, 10, 8)
    assert PACKAGE.next_workday(D(2026, 2, 13)) == D(2026, 2, 14)  # worked Saturday


@pytest.mark.parametrize("content,fragments", [
    (b"2027-13-01,holiday,x\n", ["第 1 行", "无法识别"]),
    (b"date,kind\n2027-01-01,rest\n", ["第 2 行", "holiday"]),
    (b"2027-01-01,holiday\n2027/1/1,workday\n", ["第 2 行", "重复"]),
    (b"2027-01-01\n", ["至少需要两列"]),
    (b"\n\n", ["没有数据行"]),
    ("2027年1月1日,放假,元旦\n".encode("gbk") + b"\xff\xfe\xfa", ["无法识别文件编码"]),
])
def test_bad_holiday_files_are_refused_with_line_numbers(content, fragments):
    with pytest.raises(CalendarFileError) as error:
        parse_holiday_csv(content, "h.csv")
    for fragment in fragments:
        assert fragment in str(error.value)


def test_chinese_words_and_gbk_are_accepted():
    rows = parse_holiday_csv("2027年1月1日,放假,元旦\n2027/2/20,上班,春节调休\n".encode("gbk"))
    assert rows == [HolidayRow(D(2027, 1, 1), "holiday", "元旦"), HolidayRow(D(2027, 2, 20), "workday", "春节调休")]
