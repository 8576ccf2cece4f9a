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
    received = conn.execute(
        sa.select(cases.c.registered_on).where(*base, cases.c.registered_on.between(start, end))
    ).scalars().all()
    closed = conn.execute(
        sa.select(cases.c.closed_on).where(*base, cases.c.closed_on.between(start, end))
    ).scalars().all()
    backlog = backlog_monthly(conn, scope, filters)

    def per_month(days) -> pd.Series:
        return pd.Series(pd.to_datetime(pd.Series(days, dtype="object"))).dt.strftime("%Y-%m").value_counts()

    months = backlog["month"].astype(str).str[:7]
    out = pd.DataFrame({"month": months})
    out["received"] = out["month"].map(per_month(received)).fillna(0).astype("int64")
    out["closed"] = out["month"].map(per_month(closed)).fillna(0).astype("int64")
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
