"""Backlog (积案): where the unresolved backlog sits and how it moves month by month.

Backlog figures are snapshots: a backlog case counts from its registration date until
its resolution date, whatever year it came in.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import case_summaries, cases
from queries import summary
from queries.cases import fetch_colored_list
from queries.filters import Filters, Scope, case_conditions, unresolved_backlog_condition
from queries.kpi import backlog_counts
from queries.regions import counties, townships


def _backlog_cases(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Registration and resolution dates of every backlog case registered by the period end."""
    stmt = sa.select(
        cases.c.township_code, cases.c.county_code, cases.c.registered_on, cases.c.resolved_on
    ).where(
        *case_conditions(scope, filters, period=False),
        cases.c.is_backlog.is_(True),
        cases.c.registered_on <= filters.as_of,
    )
    frame = pd.DataFrame(
        conn.execute(stmt).all(),
        columns=["township_code", "county_code", "registered_on", "resolved_on"],
    )
    frame["registered_on"] = pd.to_datetime(frame["registered_on"])
    frame["resolved_on"] = pd.to_datetime(frame["resolved_on"])
    return frame


def _months(filters: Filters) -> pd.DatetimeIndex:
    start, end = filters.period
    return pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS")


def _month_end(month_start: pd.Timestamp, filters: Filters) -> pd.Timestamp:
    return min(month_start + pd.offsets.MonthEnd(0), pd.Timestamp(filters.as_of))


def backlog_monthly(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per month of the period: backlog cases opened, resolved, and remaining at month end."""
    if summary._counts_ready(conn):
        return _backlog_monthly_from_summaries(conn, scope, filters)
    frame = _backlog_cases(conn, scope, filters)
    rows = []
    for month in _months(filters):
        month_end = _month_end(month, filters)
        opened = frame["registered_on"].between(month, month_end)
        resolved = frame["resolved_on"].between(month, month_end)
        remaining = (frame["registered_on"] <= month_end) & (
            frame["resolved_on"].isna() | (frame["resolved_on"] > month_end)
        )
        rows.append(
            {
                "month": month.strftime("%Y-%m"),
                "opened": int(opened.sum()),
                "resolved": int(resolved.sum()),
                "remaining": int(remaining.sum()),
            }
        )
    return pd.DataFrame(rows, columns=["month", "opened", "resolved", "remaining"])


def _backlog_monthly_from_summaries(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """`backlog_monthly` from the summary table: opened and resolved per month (the
    period end's month, if cut, counted from the cases), remaining as their running
    difference since the first month."""
    as_of = filters.as_of
    t = case_summaries
    limit = as_of.year * 100 + as_of.month
    whole = (as_of + dt.timedelta(days=1)).day == 1
    rows = conn.execute(
        sa.select(t.c.month, sa.func.sum(t.c.backlog_registered), sa.func.sum(t.c.backlog_resolved))
        .where(*summary._conditions(scope, filters, t), t.c.month <= limit if whole else t.c.month < limit)
        .group_by(t.c.month)
    ).all()
    per_month = {int(m): (int(opened or 0), int(resolved or 0)) for m, opened, resolved in rows}
    if not whole:
        base = [*case_conditions(scope, filters, period=False), cases.c.is_backlog.is_(True)]
        first = as_of.replace(day=1)
        opened = conn.execute(sa.select(sa.func.count()).where(
            *base, cases.c.registered_on.between(first, as_of))).scalar_one()
        resolved = conn.execute(sa.select(sa.func.count()).where(
            *base, cases.c.resolved_on.between(first, as_of), cases.c.registered_on <= as_of)).scalar_one()
        per_month[limit] = (int(opened), int(resolved))
    wanted = {month.year * 100 + month.month: month.strftime("%Y-%m") for month in _months(filters)}
    out, remaining = [], 0
    for month in sorted(set(per_month) | set(wanted)):
        if month > limit:
            break
        opened, resolved = per_month.get(month, (0, 0))
        remaining += opened - resolved
        if month in wanted:
            out.append({"month": wanted[month], "opened": opened, "resolved": resolved, "remaining": remaining})
    return pd.DataFrame(out, columns=["month", "opened", "resolved", "remaining"])


def backlog_by_township(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Every township in scope with its backlog at the period end (zeros included),
    sorted by unresolved backlog, largest first."""
    # From the summaries (the unfinished month from the cases), else one grouped statement.
    per_township = backlog_counts(conn, scope, filters, cases.c.township_code).rename(
        columns={"code": "township_code"}).set_index("township_code")
    towns = townships(conn, scope)
    if filters.county_code:
        towns = towns[towns["county_code"] == filters.county_code]
    if filters.township_code:
        towns = towns[towns["code"] == filters.township_code]
    county_names = counties(conn, scope).set_index("code")["name"]
    out = towns.rename(columns={"code": "township_code", "name": "township_name"})
    out = out.join(per_township, on="township_code")
    out["backlog_total"] = out["backlog_total"].fillna(0).astype("int64")
    out["backlog_resolved"] = out["backlog_resolved"].fillna(0).astype("int64")
    out["unresolved"] = out["backlog_total"] - out["backlog_resolved"]
    out["county_name"] = out["county_code"].map(county_names)
    out["per_10k"] = (out["unresolved"] / out["population"].astype("float") * 10_000).round(2)
    columns = [
        "township_code",
        "township_name",
        "county_code",
        "county_name",
        "population",
        "backlog_total",
        "backlog_resolved",
        "unresolved",
        "per_10k",
        "lon",
        "lat",
    ]
    return (
        out[columns]
        .sort_values(["unresolved", "township_code"], ascending=[False, True])
        .reset_index(drop=True)
    )


def backlog_township_month(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Unresolved backlog per township at the end of each month of the period (long form)."""
    towns = townships(conn, scope)
    if filters.county_code:
        towns = towns[towns["county_code"] == filters.county_code]
    if filters.township_code:
        towns = towns[towns["code"] == filters.township_code]
    towns = towns[["code", "name"]]
    months = _months(filters)
    if summary._counts_ready(conn):
        remaining = _township_month_from_summaries(conn, scope, filters)
        columns = [(m.year * 100 + m.month) for m in months]
    else:
        frame = _backlog_cases(conn, scope, filters)
        remaining, columns = {}, []
        for month in months:
            month_end = _month_end(month, filters)
            still_open = frame[(frame["registered_on"] <= month_end)
                               & (frame["resolved_on"].isna() | (frame["resolved_on"] > month_end))]
            remaining[month] = still_open.groupby("township_code").size()
            columns.append(month)
        remaining = pd.DataFrame(remaining)
    rows = []
    for code, name in towns.itertuples(index=False):
        per_month = remaining.loc[code] if code in remaining.index else None
        for month, column in zip(months, columns, strict=True):
            value = 0 if per_month is None else per_month.get(column, 0)
            rows.append({"township_code": code, "township_name": name, "month": month.strftime("%Y-%m"),
                         "unresolved": int(0 if pd.isna(value) else value)})
    return pd.DataFrame(rows, columns=["township_code", "township_name", "month", "unresolved"])


def _township_month_from_summaries(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Unresolved backlog per township (rows) at each month end (columns, yyyymm): the
    running sum of backlog registered minus resolved per month from the summary table,
    the period end's month, if cut, counted from the cases (as `backlog_monthly`)."""
    as_of = filters.as_of
    t = case_summaries
    limit = as_of.year * 100 + as_of.month
    whole = (as_of + dt.timedelta(days=1)).day == 1
    net = sa.func.sum(t.c.backlog_registered) - sa.func.sum(t.c.backlog_resolved)
    rows = conn.execute(
        sa.select(t.c.township_code, t.c.month, net)
        .where(*summary._conditions(scope, filters, t), t.c.month <= limit if whole else t.c.month < limit)
        .group_by(t.c.township_code, t.c.month)
    ).all()
    changes = pd.DataFrame(rows, columns=["township_code", "month", "net"])
    if not whole:
        base = [*case_conditions(scope, filters, period=False), cases.c.is_backlog.is_(True)]
        first = as_of.replace(day=1)
        opened = conn.execute(sa.select(cases.c.township_code, sa.func.count()).where(
            *base, cases.c.registered_on.between(first, as_of)).group_by(cases.c.township_code)).all()
        resolved = conn.execute(sa.select(cases.c.township_code, -sa.func.count()).where(
            *base, cases.c.resolved_on.between(first, as_of), cases.c.registered_on <= as_of,
        ).group_by(cases.c.township_code)).all()
        changes = pd.concat([changes, pd.DataFrame([(code, limit, n) for code, n in [*opened, *resolved]],
                                                   columns=["township_code", "month", "net"])])
    if changes.empty:
        return pd.DataFrame()
    changes["net"] = changes["net"].astype("int64")
    table = changes.pivot_table(index="township_code", columns="month", values="net", aggfunc="sum", fill_value=0)
    # every month from the first change on, so that a month without changes keeps the
    # running total of the month before it
    first = int(table.columns.min())
    every_month = [y * 100 + m for y in range(first // 100, limit // 100 + 1) for m in range(1, 13)
                   if first <= y * 100 + m <= limit]
    return table.reindex(columns=every_month, fill_value=0).cumsum(axis=1)


def unresolved_backlog_cases(
    conn: Connection, scope: Scope, filters: Filters, township_code: str | None = None
) -> pd.DataFrame:
    """The unresolved backlog cases at the period end, oldest first."""
    conditions = [
        *case_conditions(scope, filters, period=False),
        unresolved_backlog_condition(filters.as_of),
    ]
    if township_code:
        conditions.append(cases.c.township_code == township_code)
    frame = fetch_colored_list(conn, conditions, filters.as_of)
    return frame.sort_values(["days_open", "case_no"], ascending=[False, True]).reset_index(
        drop=True
    )
