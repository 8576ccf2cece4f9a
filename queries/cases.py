"""Case lists: the one builder behind every list of cases in the product."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases, leaders, regions, units
from dashboard.rules import DEFAULT_RULE, RULE_COLUMNS, ColorRule, assign_colors
from queries.filters import Filters, Scope, case_conditions, open_condition

CASE_LIST_COLUMNS = (
    "case_id",
    "case_no",
    "registered_on",
    "county_code",
    "county_name",
    "township_code",
    "township_name",
    "domain",
    "channel",
    "summary",
    "is_backlog",
    "backlog_source",
    "unit_name",
    "leader_name",
    "leader_title",
    "days_open",
    "stage",
    "deadline",
    "days_left",
    "color",
)


def case_list_select(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    """SELECT of the case-list columns with region, unit and leader names joined."""
    county = regions.alias("county")
    township = regions.alias("township")
    return (
        sa.select(
            cases.c.id.label("case_id"),
            cases.c.case_no,
            cases.c.county_code,
            county.c.name.label("county_name"),
            cases.c.township_code,
            township.c.name.label("township_name"),
            cases.c.domain,
            cases.c.channel,
            cases.c.summary,
            cases.c.backlog_source,
            units.c.name.label("unit_name"),
            leaders.c.name.label("leader_name"),
            leaders.c.title.label("leader_title"),
            *[cases.c[name] for name in RULE_COLUMNS],
        )
        .select_from(
            cases.join(county, county.c.code == cases.c.county_code)
            .outerjoin(township, township.c.code == cases.c.township_code)
            .outerjoin(units, units.c.id == cases.c.responsible_unit_id)
            .outerjoin(leaders, leaders.c.id == cases.c.leader_id)
        )
        .where(*conditions)
    )


def fetch_case_list(
    conn: Connection,
    stmt: sa.Select,
    as_of: dt.date,
    rule: ColorRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """Run a `case_list_select` and add days open, stage, deadline, days left, color."""
    frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=list(CASE_LIST_COLUMNS))
    frame = assign_colors(frame, as_of, rule)
    registered = pd.to_datetime(frame["registered_on"])
    frame["days_open"] = (pd.Timestamp(as_of) - registered).dt.days.astype("int64")
    frame["registered_on"] = registered.dt.date
    frame["is_backlog"] = frame["is_backlog"].astype(bool)
    return frame[list(CASE_LIST_COLUMNS)].reset_index(drop=True)


def open_cases(
    conn: Connection, scope: Scope, filters: Filters, rule: ColorRule = DEFAULT_RULE
) -> pd.DataFrame:
    """Every case open at the end of the period (any registration date), with its color.

    Sorted most urgent first: red, yellow, green, then fewest days left.
    """
    as_of = filters.as_of
    stmt = case_list_select(*case_conditions(scope, filters, period=False), open_condition(as_of))
    frame = fetch_case_list(conn, stmt, as_of, rule)
    if frame.empty:
        return frame
    order = frame["color"].map({"red": 0, "yellow": 1, "green": 2})
    return (
        frame.assign(_order=order)
        .sort_values(["_order", "days_left", "case_no"], na_position="last")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def case_by_number(conn: Connection, scope: Scope, case_no: str, as_of: dt.date) -> pd.DataFrame:
    """One case (or an empty frame) if it lies in the caller's scope."""
    from queries.filters import scope_condition

    stmt = case_list_select(scope_condition(scope), cases.c.case_no == case_no)
    return fetch_case_list(conn, stmt, as_of)
