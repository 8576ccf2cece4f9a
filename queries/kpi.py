"""The indicators of domain.md §6 for a period and region (one record)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases
from dashboard.rules import DEFAULT_RULE, ColorRule, count_colors
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


def _received(conn: Connection, scope: Scope, filters: Filters) -> sa.Row:
    stmt = sa.select(
        sa.func.count().label("total"),
        _count_if(cases.c.channel == "online").label("online"),
        _count_if(cases.c.is_collective.is_(True)).label("collective_batches"),
        _sum_if(cases.c.is_collective.is_(True), cases.c.persons).label("collective_persons"),
        _count_if(cases.c.escalation == "province").label("province_batches"),
        _sum_if(cases.c.escalation == "province", cases.c.persons).label("province_persons"),
        _count_if(cases.c.escalation == "beijing").label("beijing_batches"),
        _sum_if(cases.c.escalation == "beijing", cases.c.persons).label("beijing_persons"),
    ).where(*case_conditions(scope, filters))
    return conn.execute(stmt).one()


def indicators(
    conn: Connection, scope: Scope, filters: Filters, rule: ColorRule = DEFAULT_RULE
) -> dict:
    """Indicators with the keys of the `kpi --json` contract.

    Received counts use the registration date within the period. Timely acceptance
    counts cases accepted in the period; on-time closure, evaluation and satisfaction
    count cases closed in the period. Backlog figures are a snapshot at the period end.
    """
    start, end = filters.period
    base = case_conditions(scope, filters, period=False)

    received = _received(conn, scope, filters)
    last_year = filters.with_period(same_day_last_year(start), same_day_last_year(end))
    total_last_year = _received(conn, scope, last_year).total

    accepted = conn.execute(
        sa.select(
            sa.func.count().label("accepted"),
            _count_if(cases.c.accepted_on <= cases.c.acceptance_due).label("timely"),
        ).where(*base, cases.c.accepted_on.between(start, end))
    ).one()
    closed = conn.execute(
        sa.select(
            sa.func.count().label("closed"),
            _count_if(cases.c.closed_on <= cases.c.handling_due).label("on_time"),
            _count_if(cases.c.satisfaction.is_not(None)).label("evaluated"),
            _count_if(cases.c.satisfaction.in_(SATISFIED)).label("satisfied"),
        ).where(*base, cases.c.closed_on.between(start, end))
    ).one()
    backlog = conn.execute(
        sa.select(
            sa.func.count().label("total"),
            _count_if(
                sa.and_(cases.c.resolved_on.is_not(None), cases.c.resolved_on <= end)
            ).label("resolved"),
        ).where(*base, cases.c.is_backlog.is_(True), cases.c.registered_on <= end)
    ).one()
    colors = count_colors(open_cases(conn, scope, filters, rule))

    return {
        "period_from": start.isoformat(),
        "period_to": end.isoformat(),
        "region": scope.region_code,
        "region_name": scope.name,
        "total": received.total,
        "total_same_period_last_year": total_last_year,
        "yoy": ratio(received.total - total_last_year, total_last_year),
        "online_share": ratio(received.online, received.total),
        "timely_acceptance_rate": ratio(accepted.timely, accepted.accepted),
        "on_time_closure_rate": ratio(closed.on_time, closed.closed),
        "evaluation_rate": ratio(closed.evaluated, closed.closed),
        "satisfaction_rate": ratio(closed.satisfied, closed.evaluated),
        "backlog_total": backlog.total,
        "backlog_resolved": backlog.resolved,
        "backlog_resolution_rate": ratio(backlog.resolved, backlog.total),
        "collective_batches": received.collective_batches,
        "collective_persons": received.collective_persons,
        "escalated_province_batches": received.province_batches,
        "escalated_province_persons": received.province_persons,
        "escalated_beijing_batches": received.beijing_batches,
        "escalated_beijing_persons": received.beijing_persons,
        "colors": colors,
    }
