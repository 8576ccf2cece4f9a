"""Region drill-down: monthly movement and the mix of domains and channels."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import case_summaries, cases
from queries import summary
from queries.backlog import backlog_monthly
from queries.filters import Filters, Scope, case_conditions


def monthly_trend(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per month of the period: cases received, closed, backlog resolved, and backlog
    remaining at month end."""
    start, end = filters.period
    base = case_conditions(scope, filters, period=False)

    def per_month(column: sa.Column) -> pd.Series:
        # counted per day in the database (a few hundred rows), summed per month here
        rows = conn.execute(
            sa.select(column, sa.func.count()).where(*base, column.between(start, end)).group_by(column)
        ).all()
        if not rows:
            return pd.Series(dtype="int64")
        days = pd.DataFrame(rows, columns=["day", "count"])
        return days.groupby(pd.to_datetime(days["day"]).dt.strftime("%Y-%m"))["count"].sum()

    if summary._counts_ready(conn):
        received, closed = _summary_month(conn, scope, filters, "received"), _summary_month(conn, scope, filters,
                                                                                             "closed")
    else:
        received, closed = per_month(cases.c.registered_on), per_month(cases.c.closed_on)
    backlog = backlog_monthly(conn, scope, filters)

    months = backlog["month"].astype(str).str[:7]
    out = pd.DataFrame({"month": months})
    out["received"] = out["month"].map(received).fillna(0).astype("int64")
    out["closed"] = out["month"].map(closed).fillna(0).astype("int64")
    out["resolved"] = backlog["resolved"].to_numpy() if not backlog.empty else []
    out["backlog_remaining"] = backlog["remaining"].to_numpy() if not backlog.empty else []
    return out.reset_index(drop=True)


def _summary_month(conn: Connection, scope: Scope, filters: Filters, measure: str) -> pd.Series:
    """Counts per month (YYYY-MM) of the period from the summary table; the days of a
    month the period covers only in part from the cases."""
    start, end = filters.period
    months, rest = summary._split(start, end)
    parts = []
    if months is not None:
        t = case_summaries
        rows = conn.execute(
            sa.select(t.c.month, sa.func.sum(t.c[measure]))
            .where(*summary._conditions(scope, filters, t), t.c.month.between(*months)).group_by(t.c.month)
        ).all()
        parts += [(f"{m // 100:04d}-{m % 100:02d}", int(n)) for m, n in rows]
    column = cases.c.registered_on if measure == "received" else cases.c.closed_on
    base = case_conditions(scope, filters, period=False)
    for a, b in rest:
        n = conn.execute(sa.select(sa.func.count()).where(*base, column.between(a, b))).scalar_one()
        parts.append((f"{a:%Y-%m}", int(n)))
    if not parts:
        return pd.Series(dtype="int64")
    frame = pd.DataFrame(parts, columns=["month", "count"])
    return frame.groupby("month")["count"].sum()


def mix(conn: Connection, scope: Scope, filters: Filters, column: str) -> pd.DataFrame:
    """Cases received in the period by `domain` or `channel`, largest first."""
    if summary._counts_ready(conn):
        field = cases.c[column]

        def raw(a, b):
            return pd.DataFrame(conn.execute(
                sa.select(field.label("code"), sa.func.count().label("total"))
                .where(*case_conditions(scope, filters.with_period(a, b))).group_by(field)).all(),
                columns=["code", "total"])

        counts = summary._period_counts(conn, scope, filters, {"total": "received"}, raw, column)
        counts = counts[counts["total"] > 0].rename(columns={"total": "count"})
        counts["count"] = counts["count"].astype("int64")
        return counts.sort_values(["count", "code"], ascending=[False, True]).reset_index(drop=True)[["code", "count"]]
    field = cases.c[column]
    rows = conn.execute(
        sa.select(field.label("code"), sa.func.count().label("count"))
        .where(*case_conditions(scope, filters))
        .group_by(field)
        .order_by(sa.func.count().desc(), field)
    ).all()
    return pd.DataFrame(rows, columns=["code", "count"])
