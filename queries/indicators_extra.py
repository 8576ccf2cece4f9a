"""Indicators the seeds report beyond §6 (added to `kpi --json` under new keys):

* average handling days 平均办理天数: over the cases closed in the period, the mean of
  (closing date − registration date) in calendar days;
* first-petition resolution rate 首办化解率（一次性化解率）: of the first petitions (初信初访,
  not marked repeat) closed in the period, the share resolved (化解) by the period end;
* repeat petition rate 重复信访率: repeat petitions received in the period ÷ all cases
  received in the period.

调解 (mediation) and 代办 (proxy handling) counts are not in the ledger (no such column
in the case table or the ledger import), so they are not reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases
from queries.filters import Filters, Scope, case_conditions


def _days_between(conn: Connection, later, earlier):
    if conn.dialect.name == "postgresql":
        return later - earlier  # date − date: whole days
    return sa.func.julianday(later) - sa.func.julianday(earlier)


def _count_if(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def extra_indicators(conn: Connection, scope: Scope, filters: Filters) -> dict:
    """The figures above for the scope and filters (same period rules as `kpi`)."""
    start, end = filters.period
    base = case_conditions(scope, filters, period=False)
    closed = conn.execute(sa.select(
        sa.func.count().label("closed"),
        sa.func.sum(_days_between(conn, cases.c.closed_on, cases.c.registered_on)).label("days"),
        _count_if(cases.c.is_repeat.is_(False)).label("first_closed"),
        _count_if(sa.and_(cases.c.is_repeat.is_(False), cases.c.resolved_on.is_not(None),
                          cases.c.resolved_on <= end)).label("first_resolved"),
    ).where(*base, cases.c.closed_on.between(start, end))).one()
    received = conn.execute(sa.select(sa.func.count().label("total"),
                                      _count_if(cases.c.is_repeat.is_(True)).label("repeat"))
                            .where(*case_conditions(scope, filters))).one()
    n_closed, first_closed, total = int(closed.closed), int(closed.first_closed), int(received.total)
    return {
        "average_handling_days": round(float(closed.days) / n_closed, 2) if n_closed else None,
        "first_petitions_closed": first_closed,
        "first_petitions_resolved": int(closed.first_resolved),
        "first_resolution_rate": int(closed.first_resolved) / first_closed if first_closed else None,
        "repeat_count": int(received.repeat),
        "repeat_rate": int(received.repeat) / total if total else None,
    }
