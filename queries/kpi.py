"""The indicators of domain.md §6 for a period and region (one record)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases
from dashboard.rules import COLOR_ORDER, count_colors
from queries import summary
from queries.cases import open_cases
from queries.filters import Filters, Scope, case_conditions

SATISFIED = ("satisfied", "basic")


def same_day_last_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def ratio(numerator: int, denominator: int) -> float | None:
    """A rate as a fraction 0–1, None when the denominator is 0."""
    return numerator / denominator if denominator else None


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _sum_if(condition: sa.ColumnElement[bool], value) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


# The aggregates of §6, defined once; `indicators` applies them to one region and
# `indicators_by_region` to every county or township of a scope.
RECEIVED = {
    "total": lambda: sa.func.count(),
    "online": lambda: _count_if(cases.c.channel == "online"),
    "collective_batches": lambda: _count_if(cases.c.is_collective.is_(True)),
    "collective_persons": lambda: _sum_if(cases.c.is_collective.is_(True), cases.c.persons),
    "province_batches": lambda: _count_if(cases.c.escalation == "province"),
    "province_persons": lambda: _sum_if(cases.c.escalation == "province", cases.c.persons),
    "beijing_batches": lambda: _count_if(cases.c.escalation == "beijing"),
    "beijing_persons": lambda: _sum_if(cases.c.escalation == "beijing", cases.c.persons),
}
ACCEPTED = {
    "accepted": lambda: sa.func.count(),
    "timely": lambda: _count_if(cases.c.accepted_on <= cases.c.acceptance_due),
}
CLOSED = {
    "closed": lambda: sa.func.count(),
    "on_time": lambda: _count_if(cases.c.closed_on <= cases.c.handling_due),
    "evaluated": lambda: _count_if(cases.c.satisfaction.is_not(None)),
    "satisfied": lambda: _count_if(cases.c.satisfaction.in_(SATISFIED)),
}


def _backlog(end: dt.date) -> dict:
    return {
        "backlog_total": lambda: sa.func.count(),
        "backlog_resolved": lambda: _count_if(sa.and_(cases.c.resolved_on.is_not(None), cases.c.resolved_on <= end)),
    }


def _aggregate(conn: Connection, columns: dict, conditions: list, group=None) -> pd.DataFrame:
    """One row (or one per `group` value, column `code`) of the given aggregates."""
    selected = [make().label(name) for name, make in columns.items()]
    if group is None:
        return pd.DataFrame([conn.execute(sa.select(*selected).where(*conditions)).one()._mapping])
    stmt = sa.select(group.label("code"), *selected).where(*conditions).group_by(group)
    return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=["code", *columns])


# Output name -> its column in the summary table (dashboard.summaries).
SUMMARY_COLUMNS = {
    "received": {"total": "received", **{name: name for name in RECEIVED if name != "total"}},
    "accepted": {"accepted": "accepted", "timely": "timely"},
    "closed": {"closed": "closed", "on_time": "on_time", "evaluated": "evaluated", "satisfied": "satisfied"},
    "backlog": {"backlog_total": "backlog_registered", "backlog_resolved": "backlog_resolved"},
}


def _parts(conn: Connection, scope: Scope, filters: Filters, group=None) -> dict[str, pd.DataFrame]:
    if summary._counts_ready(conn):
        return _summary_parts(conn, scope, filters, group)
    return _raw_parts(conn, scope, filters, group)


def _summary_parts(conn: Connection, scope: Scope, filters: Filters, group=None) -> dict[str, pd.DataFrame]:
    """The same figures from the summary table: whole months from there, the days left
    over at the period's ends from the cases."""
    base = case_conditions(scope, filters, period=False)
    name = None if group is None else group.name
    c = cases.c

    def raw(columns, *conditions):
        return lambda a, b: _aggregate(conn, columns, [*base, *[f(a, b) for f in conditions]], group)

    received = raw(RECEIVED, lambda a, b: c.registered_on.between(a, b))
    accepted = raw(ACCEPTED, lambda a, b: c.accepted_on.between(a, b))
    closed = raw(CLOSED, lambda a, b: c.closed_on.between(a, b))

    return {
        "received": summary._period_counts(conn, scope, filters, SUMMARY_COLUMNS["received"], received, name),
        "accepted": summary._period_counts(conn, scope, filters, SUMMARY_COLUMNS["accepted"], accepted, name),
        "closed": summary._period_counts(conn, scope, filters, SUMMARY_COLUMNS["closed"], closed, name),
        "backlog": _summary_backlog(conn, scope, filters, group),
    }


def backlog_counts(conn: Connection, scope: Scope, filters: Filters, group=None) -> pd.DataFrame:
    """Backlog registered by the period end (`backlog_total`) and resolved by then
    (`backlog_resolved`): one row, or one per value of the cases' column `group`
    (column `code`), from the summaries when they are built."""
    if summary._counts_ready(conn):
        return _summary_backlog(conn, scope, filters, group)
    end = filters.as_of
    return _aggregate(conn, _backlog(end), [*case_conditions(scope, filters, period=False),
                                            cases.c.is_backlog.is_(True), cases.c.registered_on <= end], group)


def _summary_backlog(conn: Connection, scope: Scope, filters: Filters, group=None) -> pd.DataFrame:
    base = case_conditions(scope, filters, period=False)
    c = cases.c
    end = filters.as_of

    def backlog(a, b):
        # backlog registered in [a, b], and backlog resolved in [a, b] (registered before, or in it)
        registered = _aggregate(conn, {"backlog_total": lambda: sa.func.count(), "backlog_resolved": lambda: sa.literal(0)},
                                [*base, c.is_backlog.is_(True), c.registered_on.between(a, b)], group)
        resolved = _aggregate(conn, {"backlog_total": lambda: sa.literal(0), "backlog_resolved": lambda: sa.func.count()},
                              [*base, c.is_backlog.is_(True), c.resolved_on.between(a, b), c.registered_on <= end],
                              group)
        return summary._combine([registered, resolved], ["backlog_total", "backlog_resolved"],
                                None if group is None else group.name)

    return summary._snapshot_counts(conn, scope, filters, SUMMARY_COLUMNS["backlog"], backlog,
                                    None if group is None else group.name)


def _raw_parts(conn: Connection, scope: Scope, filters: Filters, group=None) -> dict[str, pd.DataFrame]:
    start, end = filters.period
    base = case_conditions(scope, filters, period=False)
    return {
        "received": _aggregate(conn, RECEIVED, case_conditions(scope, filters), group),
        "accepted": _aggregate(conn, ACCEPTED, [*base, cases.c.accepted_on.between(start, end)], group),
        "closed": _aggregate(conn, CLOSED, [*base, cases.c.closed_on.between(start, end)], group),
        "backlog": backlog_counts(conn, scope, filters, group),
    }


def _received(conn: Connection, scope: Scope, filters: Filters) -> pd.Series:
    if summary._counts_ready(conn):
        raw = lambda a, b: _aggregate(  # noqa: E731
            conn, RECEIVED, case_conditions(scope, filters.with_period(a, b)))
        return summary._period_counts(conn, scope, filters, SUMMARY_COLUMNS["received"], raw, None).iloc[0]
    return _aggregate(conn, RECEIVED, case_conditions(scope, filters)).iloc[0]


def _colors(conn: Connection, scope: Scope, filters: Filters) -> dict[str, int]:
    """Red / yellow / green counts at the period end: stored colors when they are for
    that date, else the open cases colored by the one rule."""
    stored = summary._color_counts(conn, scope, filters, None)
    if stored is None:
        return count_colors(open_cases(conn, scope, filters))
    return {color: int(stored[color].iloc[0]) for color in COLOR_ORDER}


def indicators(
    conn: Connection, scope: Scope, filters: Filters, *, with_colors: bool = True
) -> dict:
    """Indicators with the keys of the `kpi --json` contract.

    Received counts use the registration date within the period. Timely acceptance
    counts cases accepted in the period; on-time closure, evaluation and satisfaction
    count cases closed in the period. Backlog figures are a snapshot at the period end.
    """
    start, end = filters.period
    parts = {name: frame.iloc[0] for name, frame in _parts(conn, scope, filters).items()}
    received, accepted, closed, backlog = (parts[k] for k in ("received", "accepted", "closed", "backlog"))
    last_year = filters.with_period(same_day_last_year(start), same_day_last_year(end))
    total_last_year = int(_received(conn, scope, last_year)["total"])
    colors = _colors(conn, scope, filters) if with_colors else None
    total = int(received["total"])

    return {
        "period_from": start.isoformat(),
        "period_to": end.isoformat(),
        "region": scope.region_code,
        "region_name": scope.name,
        "total": total,
        "total_same_period_last_year": total_last_year,
        "yoy": ratio(total - total_last_year, total_last_year),
        "online_share": ratio(int(received["online"]), total),
        "timely_acceptance_rate": ratio(int(accepted["timely"]), int(accepted["accepted"])),
        "on_time_closure_rate": ratio(int(closed["on_time"]), int(closed["closed"])),
        "evaluation_rate": ratio(int(closed["evaluated"]), int(closed["closed"])),
        "satisfaction_rate": ratio(int(closed["satisfied"]), int(closed["evaluated"])),
        "backlog_total": int(backlog["backlog_total"]),
        "backlog_resolved": int(backlog["backlog_resolved"]),
        "backlog_resolution_rate": ratio(int(backlog["backlog_resolved"]), int(backlog["backlog_total"])),
        "collective_batches": int(received["collective_batches"]),
        "collective_persons": int(received["collective_persons"]),
        "escalated_province_batches": int(received["province_batches"]),
        "escalated_province_persons": int(received["province_persons"]),
        "escalated_beijing_batches": int(received["beijing_batches"]),
        "escalated_beijing_persons": int(received["beijing_persons"]),
        "colors": colors,
    }


def comparison_indicators(conn: Connection, scope: Scope, filters: Filters) -> dict:
    """`indicators` of a comparison period (the same period last year) without the color
    counts at its end (`colors` is None): only rates and counts are compared, and the
    colors of a past day are not stored, so counting them would color every case open
    then."""
    return indicators(conn, scope, filters, with_colors=False)


def _rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).astype("float64")


def indicators_by_region(
    conn: Connection, scope: Scope, filters: Filters, level: str | None = None
) -> pd.DataFrame:
    """The §6 indicators for each region of `level` in the scope (default: the level
    below the scope: the counties of a city, the townships of a county), zeros
    included; rates are NaN where undefined."""
    return _indicators_by_region(conn, scope, filters, level)


def _indicators_by_region(conn: Connection, scope: Scope, filters: Filters, level: str | None = None,
                          colors: bool = True) -> pd.DataFrame:
    """`indicators_by_region`; `colors=False` leaves the color columns at 0 (rankings
    need none, and the comparison period's end has no stored colors)."""
    from queries.regions import region_list

    level = level or ("county" if scope.level == "city" else "township")
    group = cases.c.county_code if level == "county" else cases.c.township_code
    table = region_list(conn, scope, level)[["code", "name", "parent_code", "population"]]
    if level == "township" and filters.township_code:
        table = table[table["code"] == filters.township_code]
    if level == "county" and filters.county_code:
        table = table[table["code"] == filters.county_code]
    for frame in _parts(conn, scope, filters, group).values():
        table = table.merge(frame, on="code", how="left")
    counts = [c for c in table.columns if c not in ("code", "name", "parent_code", "population")]
    table[counts] = table[counts].fillna(0).astype("int64")
    key = "county_code" if level == "county" else "township_code"
    stored = summary._color_counts(conn, scope, filters, key) if colors else pd.DataFrame(columns=["code"])
    if stored is not None:
        color_counts = stored.set_index("code")
    else:
        colored = open_cases(conn, scope, filters)
        color_counts = (colored.groupby([key, "color"]).size().unstack(fill_value=0) if not colored.empty
                        else pd.DataFrame())
    for color in ("red", "yellow", "green"):
        table[color] = table["code"].map(color_counts[color] if color in color_counts else {}).fillna(0).astype("int64")
    table["online_share"] = _rate(table["online"], table["total"])
    table["timely_acceptance_rate"] = _rate(table["timely"], table["accepted"])
    table["on_time_closure_rate"] = _rate(table["on_time"], table["closed"])
    table["evaluation_rate"] = _rate(table["evaluated"], table["closed"])
    table["satisfaction_rate"] = _rate(table["satisfied"], table["evaluated"])
    table["backlog_unresolved"] = table["backlog_total"] - table["backlog_resolved"]
    table["backlog_resolution_rate"] = _rate(table["backlog_resolved"], table["backlog_total"])
    # Exact: rankings order on it (rounding would make false ties); pages round for display.
    table["backlog_per_10k"] = table["backlog_unresolved"] / table["population"].astype("float64") * 10_000
    return table.reset_index(drop=True)
