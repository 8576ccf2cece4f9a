"""Region drill-down: monthly movement and the mix of domains and channels."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases
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

    received, closed = per_month(cases.c.registered_on), per_month(cases.c.closed_on)
    backlog = backlog_monthly(conn, scope, filters)

    months = backlog["month"].astype(str).str[:7]
    out = pd.DataFrame({"month": months})
    out["received"] = out["month"].map(received).fillna(0).astype("int64")
    out["closed"] = out["month"].map(closed).fillna(0).astype("int64")
    out["resolved"] = backlog["resolved"].to_numpy() if not backlog.empty else []
    out["backlog_remaining"] = backlog["remaining"].to_numpy() if not backlog.empty else []
    return out.reset_index(drop=True)


def mix(conn: Connection, scope: Scope, filters: Filters, column: str) -> pd.DataFrame:
    """Cases received in the period by `domain` or `channel`, largest first."""
    field = cases.c[column]
    rows = conn.execute(
        sa.select(field.label("code"), sa.func.count().label("count"))
        .where(*case_conditions(scope, filters))
        .group_by(field)
        .order_by(sa.func.count().desc(), field)
    ).all()
    return pd.DataFrame(rows, columns=["code", "count"])
