"""The working-day calendar and deadline arithmetic (domain.md §4).

Rest days follow the State Council holiday schedule, weekend swaps (调休) included:
the `chinese-calendar` package for the years it covers, and for other years the
`holidays` table an administrator fills from the published schedule. A year with rows
in that table uses them (so a correction overrides the package). A year with neither
is counted with weekends only and every deadline touching it is *provisional*.

Counting convention (Civil Code arts. 201, 203): the start day is not counted; a
calendar-day limit ending on a rest day ends on the next working day; a working-day
limit counts working days only. A limit of 0 means the same day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

import chinese_calendar
import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.models import holidays

CALENDAR, WORKING = "calendar", "working"
UNITS = {CALENDAR: "自然日", WORKING: "工作日"}
HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = {HOLIDAY: "放假", WORKDAY: "调休上班"}


def _package_years() -> set[int]:
    years = {day.year for day in chinese_calendar.holidays}
    return set(range(min(years), max(years) + 1))


PACKAGE_YEARS = frozenset(_package_years())


@dataclass
class WorkCalendar:
    """Working days from the package and the administrator's holiday table.

    `overrides` maps a date to True (working day) or False (rest day) for the years in
    `table_years`; those years ignore the package.
    """

    overrides: dict[dt.date, bool] = field(default_factory=dict)
    table_years: frozenset[int] = frozenset()
    _flags: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def has_schedule(self, year: int) -> bool:
        return year in self.table_years or year in PACKAGE_YEARS

    def source(self, year: int) -> str:
        if year in self.table_years:
            return "table"
        if year in PACKAGE_YEARS:
            return "package"
        return "weekends"

    def year_flags(self, year: int) -> np.ndarray:
        """Working-day flags for every day of `year` (index 0 = 1 January)."""
        if year not in self._flags:
            start = dt.date(year, 1, 1)
            days = [start + dt.timedelta(i) for i in range((dt.date(year + 1, 1, 1) - start).days)]
            if year in self.table_years:
                flags = [self.overrides.get(d, d.weekday() < 5) for d in days]
            elif year in PACKAGE_YEARS:
                flags = [chinese_calendar.is_workday(d) for d in days]
            else:
                flags = [d.weekday() < 5 for d in days]
            self._flags[year] = np.array(flags, dtype=bool)
        return self._flags[year]

    def is_workday(self, day: dt.date) -> bool:
        return bool(self.year_flags(day.year)[(day - dt.date(day.year, 1, 1)).days])

    # ------------------------------------------------------------ vectorised

    def _span(self, first_year: int, last_year: int) -> tuple[np.datetime64, np.ndarray]:
        flags = np.concatenate([self.year_flags(y) for y in range(first_year, last_year + 1)])
        return np.datetime64(f"{first_year}-01-01", "D"), flags

    def add(
        self, starts: np.ndarray, days: np.ndarray | int, unit: str | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Deadlines `days` after `starts` (datetime64[D], NaT allowed) and whether each
        is provisional. `unit` is `calendar` or `working`, per row or for all."""
        starts = np.asarray(starts, dtype="datetime64[D]")
        days = np.broadcast_to(np.asarray(days, dtype=np.int64), starts.shape)
        unit = np.broadcast_to(np.asarray(unit), starts.shape)
        due = np.full(starts.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        provisional = np.zeros(starts.shape, dtype=bool)
        valid = ~np.isnat(starts)
        if not valid.any():
            return due, provisional
        first = int(starts[valid].min().astype("datetime64[Y]").astype(int)) + 1970
        last_start = int(starts[valid].max().astype("datetime64[Y]").astype(int)) + 1970
        # Enough room for the longest limit in working days plus holidays.
        last = last_start + 1 + int(days[valid].max() * 2 // 365)
        origin, flags = self._span(first, last)
        index = np.zeros(starts.shape, dtype=np.int64)
        index[valid] = (starts[valid] - origin).astype(np.int64)

        workday_at = np.flatnonzero(flags)
        # next_workday[i]: first working day on or after day i
        next_workday = workday_at[np.minimum(np.searchsorted(workday_at, np.arange(len(flags))), len(workday_at) - 1)]
        rank = np.cumsum(flags)  # working days up to and including day i

        by_calendar = valid & (unit == CALENDAR)
        target = index + days
        result = np.zeros(starts.shape, dtype=np.int64)
        same_day = days == 0
        result[by_calendar] = np.where(
            same_day[by_calendar], target[by_calendar], next_workday[target[by_calendar]]
        )
        by_working = valid & (unit == WORKING)
        positions = rank[index[by_working]] + days[by_working] - 1
        result[by_working] = np.where(
            same_day[by_working], index[by_working], workday_at[np.minimum(positions, len(workday_at) - 1)]
        )
        due[valid] = origin + result[valid]

        years = np.arange(first, last + 1)
        scheduled = np.array([self.has_schedule(int(y)) for y in years])
        start_year = starts.astype("datetime64[Y]").astype(np.int64) + 1970
        due_year = due.astype("datetime64[Y]").astype(np.int64) + 1970
        # A deadline is provisional when a year it spans has no schedule.
        for offset, year in enumerate(years):
            if not scheduled[offset]:
                provisional |= valid & (start_year <= year) & (due_year >= year)
        return due, provisional

    def add_one(self, start: dt.date, days: int, unit: str) -> tuple[dt.date, bool]:
        due, provisional = self.add(np.array([start], dtype="datetime64[D]"), days, unit)
        return due[0].astype(dt.date), bool(provisional[0])


def load_calendar(conn: Connection) -> WorkCalendar:
    rows = conn.execute(sa.select(holidays.c.day, holidays.c.kind)).all()
    overrides = {row.day: row.kind == WORKDAY for row in rows}
    return WorkCalendar(overrides=overrides, table_years=frozenset(d.year for d in overrides))


# ------------------------------------------------------------ import


class CalendarFileError(ValueError):
    """A holiday file that cannot be imported; the message says where and what to do."""


@dataclass(frozen=True)
class HolidayRow:
    day: dt.date
    kind: str
    name: str


_KIND_WORDS = {
    "holiday": HOLIDAY, "放假": HOLIDAY, "休": HOLIDAY, "假": HOLIDAY, "休息": HOLIDAY,
    "workday": WORKDAY, "班": WORKDAY, "上班": WORKDAY, "调休上班": WORKDAY, "补班": WORKDAY,
}


def _parse_day(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_holiday_csv(data: bytes, filename: str = "文件") -> list[HolidayRow]:
    """Parse `date,kind,name` rows (UTF-8 with or without BOM, or GBK; header optional).

    Raises CalendarFileError listing every bad line (at most 20)."""
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CalendarFileError(f"{filename}：无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。")
    rows: list[HolidayRow] = []
    problems: list[str] = []
    seen: dict[dt.date, int] = {}
    for line_no, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record or not "".join(record).strip():
            continue
        if line_no == 1 and _parse_day(record[0]) is None and record[0].strip().lower() in ("date", "日期"):
            continue
        if len(record) < 2:
            problems.append(f"第 {line_no} 行：至少需要两列（日期, 类型），实际为 {','.join(record)!r}")
            continue
        day = _parse_day(record[0])
        kind = _KIND_WORDS.get(record[1].strip().lower())
        if day is None:
            problems.append(f"第 {line_no} 行：日期 {record[0]!r} 无法识别，请写成 2027-01-01")
        if kind is None:
            problems.append(f"第 {line_no} 行：类型 {record[1]!r} 应为 holiday（放假）或 workday（调休上班）")
        if day is not None and day in seen:
            problems.append(f"第 {line_no} 行：日期 {day} 与第 {seen[day]} 行重复")
        if day is None or kind is None or day in seen:
            continue
        seen[day] = line_no
        rows.append(HolidayRow(day, kind, record[2].strip() if len(record) > 2 else ""))
    if problems:
        more = f"\n……另有 {len(problems) - 20} 处问题" if len(problems) > 20 else ""
        raise CalendarFileError(f"{filename} 有 {len(problems)} 处问题，未导入任何数据：\n" + "\n".join(problems[:20]) + more)
    if not rows:
        raise CalendarFileError(f"{filename} 中没有数据行。每行格式：日期,类型,名称，例如 2027-01-01,holiday,元旦")
    return rows


def import_holidays(conn: Connection, rows: Iterable[HolidayRow]) -> dict[int, int]:
    """Replace the schedule of every year present in `rows`; returns rows per year.

    The caller owns the transaction, so a failure leaves the old schedule intact."""
    rows = list(rows)
    years = sorted({row.day.year for row in rows})
    for year in years:
        conn.execute(
            holidays.delete().where(holidays.c.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        )
    conn.execute(holidays.insert(), [{"day": r.day, "kind": r.kind, "name": r.name} for r in rows])
    return {year: sum(1 for r in rows if r.day.year == year) for year in years}


def schedule_years(conn: Connection) -> list[dict]:
    """Which years have a schedule and where it comes from, for the settings page."""
    calendar = load_calendar(conn)
    counts = dict(
        conn.execute(
            sa.select(sa.extract("year", holidays.c.day), sa.func.count()).group_by(
                sa.extract("year", holidays.c.day)
            )
        ).all()
    )
    years = sorted(set(PACKAGE_YEARS) | set(calendar.table_years) | {config.today().year + 1})
    return [
        {"year": y, "source": calendar.source(y), "table_rows": int(counts.get(y, 0))}
        for y in years
        if y >= 2020
    ]
