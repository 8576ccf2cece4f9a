"""Reading the summary tables (`dashboard.summaries`) for the pages' figures.

A period's counts are the summary rows of its whole months plus, for the days at either
end that do not fill a month, the cases themselves (an indexed range of a few days). A
database whose summaries are not built yet is counted from the cases alone; colors are
read from `case_colors` when they are stored for the date asked, else computed from the
open cases with the one color rule (`dashboard.rules.assign_colors`).

Helpers only (every function takes the caller's scope and filters from its caller).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import case_colors, case_summaries, summary_state
from dashboard.rules import COLOR_ORDER
from dashboard.summaries import ALL
from queries.filters import Filters, Scope, scope_condition


def _counts_ready(conn: Connection) -> bool:
    return conn.execute(
        sa.select(sa.func.count()).select_from(summary_state).where(summary_state.c.name == "counts")
    ).scalar_one() > 0


def _colors_ready(conn: Connection, as_of: dt.date) -> bool:
    value = conn.execute(sa.select(summary_state.c.as_of).where(summary_state.c.name == "colors")).scalar()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value == as_of


def _month(day: dt.date) -> int:
    return day.year * 100 + day.month


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _split(start: dt.date, end: dt.date) -> tuple[tuple[int, int] | None, list[tuple[dt.date, dt.date]]]:
    """(first and last whole month as yyyymm, or None; the day ranges left over)."""
    first = start if start.day == 1 else _next_month(start)
    after = _next_month(end)
    last_end = end if after - dt.timedelta(days=1) == end else end.replace(day=1) - dt.timedelta(days=1)
    if first > last_end:
        return None, [(start, end)] if start <= end else []
    rest = []
    if start < first:
        rest.append((start, first - dt.timedelta(days=1)))
    if last_end < end:
        rest.append((last_end + dt.timedelta(days=1), end))
    return (_month(first), _month(last_end)), rest


def _conditions(scope: Scope, filters: Filters, table: sa.Table, by: str | None = None) -> list:
    """Scope and sidebar filters (not the period) on `case_summaries` or `case_colors`.
    On the summaries, a domain or channel not filtered (nor grouped `by`) is read from
    the rollup rows over all of them (`ALL`): a few thousand rows instead of every
    domain × channel."""
    conditions = [scope_condition(scope, table)]
    if filters.county_code:
        conditions.append(table.c.county_code == filters.county_code)
    if filters.township_code:
        conditions.append(table.c.township_code == filters.township_code)
    for column, chosen in (("domain", filters.domains), ("channel", filters.channels)):
        if chosen:
            conditions.append(table.c[column].in_(chosen))
        elif table is case_summaries:
            conditions.append(table.c[column] != ALL if by == column else table.c[column] == ALL)
    return conditions


def _from_summaries(conn: Connection, scope: Scope, filters: Filters, columns: dict[str, str], month_condition,
                    group: str | None) -> pd.DataFrame:
    """Sums of summary `columns` (output name -> summary column) over the months
    matching `month_condition`, one row, or one per `group` value (column `code`)."""
    t = case_summaries
    sums = [sa.func.coalesce(sa.func.sum(t.c[source]), 0).label(name) for name, source in columns.items()]
    conditions = [*_conditions(scope, filters, t, group), month_condition(t.c.month)]
    if group is None:
        return pd.DataFrame([conn.execute(sa.select(*sums).where(*conditions)).one()._mapping])
    key = t.c[group]
    rows = conn.execute(sa.select(key.label("code"), *sums).where(*conditions).group_by(key)).all()
    return pd.DataFrame(rows, columns=["code", *columns])


def _combine(frames: list[pd.DataFrame], names, group: str | None) -> pd.DataFrame:
    """Add up partial counts (one row each, or rows per `code`); plain Python, as the
    frames are small and pandas' concat and groupby cost more than the sums."""
    names = list(names)
    frames = [f for f in frames if f is not None and not f.empty]
    if group is None:
        return pd.DataFrame([{name: int(sum(int(f[name].iloc[0]) for f in frames)) for name in names}])
    totals: dict = {}
    for frame in frames:
        for code, *values in frame[["code", *names]].itertuples(index=False, name=None):
            row = totals.setdefault(code, [0] * len(names))
            for i, value in enumerate(values):
                row[i] += int(value)
    return pd.DataFrame([(code, *values) for code, values in totals.items()], columns=["code", *names])


def _period_counts(conn: Connection, scope: Scope, filters: Filters, columns: dict[str, str], raw,
                   group: str | None) -> pd.DataFrame:
    """Counts of a period: the summary for its whole months, `raw(start, end)` (a frame
    counted from the cases) for the days left over."""
    start, end = filters.period
    months, rest = _split(start, end)
    frames = [raw(a, b) for a, b in rest]
    if months is not None:
        frames.append(_from_summaries(conn, scope, filters, columns, lambda m: m.between(*months), group))
    return _combine(frames, list(columns), group)


def _snapshot_counts(conn: Connection, scope: Scope, filters: Filters, columns: dict[str, str], raw,
                     group: str | None) -> pd.DataFrame:
    """Counts up to the period end (cumulative): the summary for the months before the
    end's month (and that month if the end is its last day), `raw(first, end)` for the
    days of the end's month up to the end."""
    end = filters.as_of
    whole_month = _next_month(end) - dt.timedelta(days=1) == end
    limit = _month(end)
    frames = [_from_summaries(conn, scope, filters, columns,
                              (lambda m: m <= limit) if whole_month else (lambda m: m < limit), group)]
    if not whole_month:
        frames.append(raw(end.replace(day=1), end))
    return _combine(frames, list(columns), group)


def _color_counts(conn: Connection, scope: Scope, filters: Filters, group: str | None,
                  *extra: sa.ColumnElement[bool]) -> pd.DataFrame | None:
    """Red / yellow / green counts of the cases colored at the period end, from the
    stored colors (None when they are not stored for that date): one row, or one per
    `group` value (column `code`)."""
    as_of = filters.as_of
    if not _colors_ready(conn, as_of):
        return None
    t = case_colors
    counts = [sa.func.coalesce(sa.func.sum(sa.case((t.c.color == color, 1), else_=0)), 0).label(color)
              for color in COLOR_ORDER]
    conditions = [*_conditions(scope, filters, t), t.c.registered_on <= as_of, *extra]
    if group is None:
        return pd.DataFrame([conn.execute(sa.select(*counts).where(*conditions)).one()._mapping])
    key = t.c[group]
    rows = conn.execute(sa.select(key.label("code"), *counts).where(*conditions).group_by(key)).all()
    return pd.DataFrame(rows, columns=["code", *COLOR_ORDER])
