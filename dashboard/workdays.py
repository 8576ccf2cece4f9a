"""The working-day calendar and deadline arithmetic (domain.md §4).

Rest days follow the State Council holiday schedule, weekend swaps (调休) included:
the `chinese-calendar` package for the years it covers, and for other years the
`holidays` table an administrator fills from the published schedule. In a year the
package covers, rows of the table are corrections: each overrides the package for its
own day only. In a year the package does not cover, the imported rows are that year's
schedule (other weekdays work, other weekend days rest). A year with neither is counted
with weekends only and every deadline touching it is *provisional*.

Counting convention (Civil Code arts. 201, 203): the start day is not counted; a
calendar-day limit ending on a rest day ends on the next working day; a working-day
limit counts working days only. A limit of 0 means the same day, or the next working
day when the start is a rest day.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
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

    `overrides` maps a date to True (working day) or False (rest day). In a year the
    package covers they correct single days; in other years (`table_years`) they are
    the schedule itself, on top of the weekends.
    """

    overrides: dict[dt.date, bool] = field(default_factory=dict)
    table_years: frozenset[int] = frozenset()
    _flags: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def has_schedule(self, year: int) -> bool:
        return year in self.table_years or year in PACKAGE_YEARS

    def source(self, year: int) -> str:
        if year in PACKAGE_YEARS:
            return "package"
        if year in self.table_years:
            return "table"
        return "weekends"

    def year_flags(self, year: int) -> np.ndarray:
        """Working-day flags for every day of `year` (index 0 = 1 January)."""
        if year not in self._flags:
            start = dt.date(year, 1, 1)
            flags = _base_flags(year).copy()
            for day, is_workday in self.overrides.items():
                if day.year == year:
                    flags[(day - start).days] = is_workday
            self._flags[year] = flags
        return self._flags[year]

    def is_workday(self, day: dt.date) -> bool:
        return bool(self.year_flags(day.year)[(day - dt.date(day.year, 1, 1)).days])

    def next_workday(self, day: dt.date) -> dt.date:
        """The first working day after `day`."""
        day += dt.timedelta(days=1)
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day

    def on_or_before(self, days: np.ndarray) -> np.ndarray:
        """For each date (datetime64[D], NaT allowed) the last working day on or before it."""
        days = np.asarray(days, dtype="datetime64[D]")
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        valid = ~np.isnat(days)
        if not valid.any():
            return out
        first = int(days[valid].min().astype("datetime64[Y]").astype(int)) + 1970 - 1
        last = int(days[valid].max().astype("datetime64[Y]").astype(int)) + 1970
        origin, flags = self._span(first, last)
        workday_at = np.flatnonzero(flags)
        index = (days[valid] - origin).astype(np.int64)
        position = np.searchsorted(workday_at, index, side="right") - 1
        out[valid] = origin + workday_at[np.maximum(position, 0)]
        return out

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

        # A calendar-day limit (and any same-day limit) ending on a rest day ends on the
        # next working day.
        by_calendar = valid & ((unit == CALENDAR) | (days == 0))
        result = np.zeros(starts.shape, dtype=np.int64)
        result[by_calendar] = next_workday[index[by_calendar] + days[by_calendar]]
        by_working = valid & (unit == WORKING) & (days > 0)
        positions = rank[index[by_working]] + days[by_working] - 1
        result[by_working] = workday_at[np.minimum(positions, len(workday_at) - 1)]
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


@functools.lru_cache(maxsize=64)
def _base_flags(year: int) -> np.ndarray:
    """Working-day flags of `year` before the holiday table's overrides: the package's
    official schedule for the years it covers, else Monday to Friday. The same for every
    caller, so computed once per process (a copy is changed, never this array)."""
    start = dt.date(year, 1, 1)
    days = [start + dt.timedelta(i) for i in range((dt.date(year + 1, 1, 1) - start).days)]
    if year in PACKAGE_YEARS:
        return np.array([chinese_calendar.is_workday(d) for d in days], dtype=bool)
    return np.array([d.weekday() < 5 for d in days], dtype=bool)


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


# A State Council schedule gives at least 13 statutory holidays (11 before 2025) and,
# with the swapped days, 16 or more weekdays off; Spring Festival falls between late
# January and late February, National Day on 1–7 October.
MIN_WEEKDAYS_OFF = 13
FESTIVALS = (("春节", (1, 15), (2, 28)), ("国庆节", (10, 1), (10, 8)))


@dataclass(frozen=True)
class YearImport:
    """What an import does (or did) to one year, in words for the page and the CLI."""

    year: int
    rows: int  # days in the file for this year
    mode: str  # "correction" (a package year) or "schedule" (the year's whole schedule)
    replaced: int  # rows already stored that the import replaces
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.mode == "correction":
            text = (f"{self.year} 年：{self.rows} 天作为对系统内置安排的逐日更正，其余日期仍按内置安排"
                    + (f"（其中 {self.replaced} 天替换了此前导入的更正）" if self.replaced else ""))
        else:
            text = (f"{self.year} 年：{self.rows} 天，作为该年的全部节假日安排"
                    + (f"，替换此前导入的 {self.replaced} 天" if self.replaced else ""))
        return text + "。"


def schedule_warnings(year: int, rows: Iterable[HolidayRow]) -> list[str]:
    """Why the imported schedule of a year the package does not cover looks incomplete
    (empty when it looks like a whole State Council schedule)."""
    rest = [r.day for r in rows if r.day.year == year and r.kind == HOLIDAY]
    weekdays_off = sum(1 for day in rest if day.weekday() < 5)
    problems = []
    if weekdays_off < MIN_WEEKDAYS_OFF:
        problems.append(f"放假的工作日只有 {weekdays_off} 天，国务院安排通常有 16 天以上（法定节假日至少 {MIN_WEEKDAYS_OFF} 天）")
    for name, (m1, d1), (m2, d2) in FESTIVALS:
        window = [day for day in rest if dt.date(year, m1, d1) <= day <= dt.date(year, m2, d2)]
        if len(window) < 3:
            problems.append(f"没有{name}的放假日期")
    if not problems:
        return []
    return [f"{year} 年的安排可能不完整：" + "；".join(problems)
            + "。未列出的日期按周末推算，请对照国务院办公厅通知补全后重新导入该年全部日期。"]


def plan_import(conn: Connection, rows: Iterable[HolidayRow]) -> list[YearImport]:
    """What importing `rows` would do, year by year (nothing is written)."""
    rows = list(rows)
    stored = set(conn.execute(sa.select(holidays.c.day)).scalars())  # a few hundred rows at most
    plans = []
    for year in sorted({row.day.year for row in rows}):
        in_year = [r for r in rows if r.day.year == year]
        if year in PACKAGE_YEARS:
            replaced = sum(1 for r in in_year if r.day in stored)
            plans.append(YearImport(year, len(in_year), "correction", replaced))
        else:
            replaced = sum(1 for day in stored if day.year == year)
            plans.append(YearImport(year, len(in_year), "schedule", replaced,
                                    tuple(schedule_warnings(year, in_year))))
    return plans


def import_holidays(conn: Connection, rows: Iterable[HolidayRow]) -> list[YearImport]:
    """Store `rows`: in a year the package covers each row corrects its own day; in
    other years the rows replace that year's whole imported schedule. Returns what was
    done per year (with warnings for schedules that look incomplete).

    The caller owns the transaction, so a failure leaves the old schedule intact."""
    rows = list(rows)
    plans = plan_import(conn, rows)
    for plan in plans:
        if plan.mode == "schedule":
            year = plan.year
            conn.execute(
                holidays.delete().where(holidays.c.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
            )
        else:
            days = [r.day for r in rows if r.day.year == plan.year]
            for start in range(0, len(days), 500):
                conn.execute(holidays.delete().where(holidays.c.day.in_(days[start:start + 500])))
    conn.execute(holidays.insert(), [{"day": r.day, "kind": r.kind, "name": r.name} for r in rows])
    return plans


def schedule_years(conn: Connection) -> list[dict]:
    """Which years have a schedule, where it comes from, how many days were imported
    and why an imported schedule looks incomplete, for the settings page and the CLI."""
    calendar = load_calendar(conn)
    stored = [HolidayRow(row.day, row.kind, row.name or "")
              for row in conn.execute(sa.select(holidays.c.day, holidays.c.kind, holidays.c.name))]
    years = sorted(set(PACKAGE_YEARS) | set(calendar.table_years) | {config.today().year + 1})
    result = []
    for y in years:
        if y < 2020:
            continue
        in_year = [r for r in stored if r.day.year == y]
        source = calendar.source(y)
        result.append({
            "year": y, "source": source, "table_rows": len(in_year),
            "warnings": schedule_warnings(y, in_year) if source == "table" else [],
        })
    return result
