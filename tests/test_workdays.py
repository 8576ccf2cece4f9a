"""Working-day calendar and deadline arithmetic (domain.md §4); expected dates by hand
from the State Council 2026 schedule: Spring Festival 15–23 Feb off with Sat 14 and
Sat 28 Feb worked; National Day 1–7 Oct off with Sun 20 Sep and Sat 10 Oct worked."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.workdays import (
    CalendarFileError,
    HolidayRow,
    WorkCalendar,
    import_holidays,
    load_calendar,
    parse_holiday_csv,
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
    (D(2026, 7, 5), 0, "working", D(2026, 7, 5)),  # same day
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


def test_table_overrides_the_package_for_its_year(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        # A correction: Mon 6 Jul 2026 declared a rest day.
        import_holidays(conn, [HolidayRow(D(2026, 7, 6), "holiday", "测试")])
    with engine.connect() as conn:
        calendar = load_calendar(conn)
    assert calendar.add_one(D(2026, 7, 1), 4, "calendar") == (D(2026, 7, 7), False)
    # The year now follows the table only: National Day is no longer known.
    assert calendar.is_workday(D(2026, 10, 8))


def test_import_replaces_a_year(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        import_holidays(conn, parse_holiday_csv(SCHEDULE_2027))
        counts = import_holidays(conn, [HolidayRow(D(2027, 1, 1), "holiday", "元旦")])
    assert counts == {2027: 1}
    with engine.connect() as conn:
        assert load_calendar(conn).is_workday(D(2027, 2, 8))


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
