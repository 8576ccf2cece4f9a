"""Early warnings (一单三推) in the caller's scope: the day's warnings, the pushes to
the recipients the caller answers for, and response figures. A warning lies in a scope
when its township does; a push also needs its recipient's region in the scope (a county
user sees the pushes to its townships, not those to the city's leaders)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.labels import WARNING_DOMAINS, WARNING_RECIPIENTS, WARNING_STATUS
from dashboard.models import early_warnings, regions, sensitive_periods, warning_deliveries
from queries.filters import Filters, Scope, code_in_scope

WARNING_COLUMNS = ["id", "raised_on", "region", "region_name", "county", "county_name", "domain", "domain_name",
                   "window_days", "observed", "baseline", "expected", "p_value", "level", "sensitive", "status",
                   "status_name", "raised_at", "closed_at"]


def _warning_select(scope: Scope, *conditions):
    town = regions.alias("town")
    county = regions.alias("county")
    return (sa.select(early_warnings.c.id, early_warnings.c.raised_on, early_warnings.c.region_code.label("region"),
                      town.c.name.label("region_name"), early_warnings.c.county_code.label("county"),
                      county.c.name.label("county_name"), early_warnings.c.domain, early_warnings.c.window_days,
                      early_warnings.c.observed, early_warnings.c.baseline, early_warnings.c.expected,
                      early_warnings.c.p_value, early_warnings.c.level, early_warnings.c.sensitive,
                      early_warnings.c.status, early_warnings.c.raised_at, early_warnings.c.closed_at)
            .select_from(early_warnings.join(town, town.c.code == early_warnings.c.region_code)
                         .join(county, county.c.code == early_warnings.c.county_code))
            .where(code_in_scope(early_warnings.c.region_code, scope), *conditions))


def _frame(conn: Connection, stmt) -> pd.DataFrame:
    frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=WARNING_COLUMNS)
    frame["domain_name"] = frame["domain"].map(WARNING_DOMAINS).fillna(frame["domain"])
    frame["status_name"] = frame["status"].map(WARNING_STATUS)
    return frame[WARNING_COLUMNS]


def day_warnings(conn: Connection, scope: Scope, filters: Filters, on: dt.date | None = None) -> pd.DataFrame:
    """The warnings raised on `on` (default: the period end) in the scope, strongest evidence first."""
    on = on or filters.as_of
    stmt = _warning_select(scope, early_warnings.c.raised_on == on).order_by(
        early_warnings.c.p_value, early_warnings.c.id)
    return _frame(conn, stmt)


def open_warnings(conn: Connection, scope: Scope, filters: Filters, as_of: dt.date | None = None) -> pd.DataFrame:
    """Warnings raised on or before `as_of` (default: the period end) and not closed, newest first."""
    as_of = as_of or filters.as_of
    stmt = _warning_select(scope, early_warnings.c.raised_on <= as_of, early_warnings.c.status != "closed").order_by(
        early_warnings.c.raised_on.desc(), early_warnings.c.p_value, early_warnings.c.id)
    return _frame(conn, stmt)


def deliveries(conn: Connection, scope: Scope, filters: Filters, as_of: dt.date | None = None) -> pd.DataFrame:
    """The pushes the scope answers for, of warnings raised on or before `as_of` that are
    open or were raised on that day, with the time to acknowledge and to act (hours)."""
    as_of = as_of or filters.as_of
    d = warning_deliveries
    stmt = (sa.select(d.c.id.label("delivery_id"), d.c.warning_id, d.c.recipient, d.c.recipient_name,
                      d.c.region_code.label("recipient_region"), d.c.delivered_at, d.c.acknowledged_at,
                      d.c.acknowledged_by, d.c.acted_at, d.c.acted_by, d.c.action_note)
            .select_from(d.join(early_warnings, early_warnings.c.id == d.c.warning_id))
            .where(code_in_scope(d.c.region_code, scope), code_in_scope(early_warnings.c.region_code, scope),
                   early_warnings.c.raised_on <= as_of,
                   sa.or_(early_warnings.c.status != "closed", early_warnings.c.raised_on == as_of))
            .order_by(d.c.warning_id, d.c.id))
    frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    columns = ["delivery_id", "warning_id", "recipient", "recipient_kind", "recipient_name", "recipient_region",
               "delivered_at", "acknowledged_at", "acknowledged_by", "acted_at", "acted_by", "action_note",
               "hours_to_acknowledge", "hours_to_act"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["recipient_kind"] = frame["recipient"].map(WARNING_RECIPIENTS)
    delivered = pd.to_datetime(frame["delivered_at"])
    frame["hours_to_acknowledge"] = (pd.to_datetime(frame["acknowledged_at"]) - delivered).dt.total_seconds() / 3600
    frame["hours_to_act"] = (pd.to_datetime(frame["acted_at"]) - delivered).dt.total_seconds() / 3600
    return frame[columns]


def warning_counts(conn: Connection, scope: Scope, filters: Filters) -> dict:
    """Warnings raised in the period in the scope: how many, by status, and the mean
    hours from push to acknowledgement and to action over the pushes the scope answers for."""
    start, end = filters.period
    rows = conn.execute(sa.select(early_warnings.c.status, sa.func.count()).where(
        code_in_scope(early_warnings.c.region_code, scope), early_warnings.c.raised_on.between(start, end))
        .group_by(early_warnings.c.status)).all()
    by_status = {status: 0 for status in ("raised", "acknowledged", "acting", "closed")}
    by_status.update({status: int(n) for status, n in rows})
    d = warning_deliveries
    pushes = pd.DataFrame(conn.execute(sa.select(d.c.delivered_at, d.c.acknowledged_at, d.c.acted_at)
                                       .select_from(d.join(early_warnings, early_warnings.c.id == d.c.warning_id))
                                       .where(code_in_scope(d.c.region_code, scope),
                                              code_in_scope(early_warnings.c.region_code, scope),
                                              early_warnings.c.raised_on.between(start, end))).all(),
                          columns=["delivered_at", "acknowledged_at", "acted_at"])

    def mean_hours(column: str) -> float | None:
        if pushes.empty:
            return None
        hours = (pd.to_datetime(pushes[column]) - pd.to_datetime(pushes["delivered_at"])).dt.total_seconds() / 3600
        hours = hours.dropna()
        return round(float(hours.mean()), 1) if len(hours) else None

    return {"warnings": sum(by_status.values()), "by_status": by_status, "pushes": len(pushes),
            "pushes_acknowledged": int(pushes["acknowledged_at"].notna().sum()) if len(pushes) else 0,
            "mean_hours_to_acknowledge": mean_hours("acknowledged_at"), "mean_hours_to_act": mean_hours("acted_at")}


def sensitive_period_list(conn: Connection, scope: Scope | None, filters: Filters,
                          as_of: dt.date | None = None) -> pd.DataFrame:
    """The sensitive periods (city-wide, no case data), latest first; `current`: `as_of`
    (default: the period end) lies in it."""
    as_of = as_of or filters.as_of
    frame = pd.DataFrame(conn.execute(sa.select(sensitive_periods.c.id, sensitive_periods.c.name,
                                                sensitive_periods.c.starts_on, sensitive_periods.c.ends_on,
                                                sensitive_periods.c.created_by)
                                      .order_by(sensitive_periods.c.starts_on.desc())).all(),
                         columns=["id", "name", "starts_on", "ends_on", "created_by"])
    frame["current"] = [(s <= as_of <= e) for s, e in zip(frame["starts_on"], frame["ends_on"], strict=True)]
    return frame
