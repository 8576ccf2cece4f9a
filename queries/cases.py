"""Case lists: the one builder behind every list of cases in the product."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.db import read_frame
from dashboard.models import (
    case_colors,
    case_events,
    case_units,
    cases,
    leaders,
    regions,
    rule_presets,
    units,
)
from dashboard.rules import RULE_COLUMNS, RuleBook, assign_colors, load_rules
from queries import summary
from queries.filters import Filters, Scope, case_conditions, open_condition, scope_condition

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
    "unit_id",
    "unit_name",
    "leader_name",
    "leader_title",
    "days_open",
    "stage",
    "deadline",
    "days_left",
    "color",
    "provisional",
    "preset",
)


def case_list_select(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    """SELECT of the case-list columns with region, unit and leader names joined."""
    county = regions.alias("county")
    township = regions.alias("township")
    return (
        sa.select(
            cases.c.id.label("case_id"),
            cases.c.case_no,
            county.c.name.label("county_name"),
            cases.c.township_code,
            township.c.name.label("township_name"),
            cases.c.domain,
            cases.c.channel,
            cases.c.summary,
            cases.c.backlog_source,
            cases.c.responsible_unit_id.label("unit_id"),
            units.c.name.label("unit_name"),
            leaders.c.name.label("leader_name"),
            leaders.c.title.label("leader_title"),
            cases.c.preset,
            cases.c.deadline_provisional.label("provisional"),
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
    rules: RuleBook | None = None,
) -> pd.DataFrame:
    """Run a `case_list_select` and add days open, stage, deadline, days left, color."""
    frame = read_frame(conn, stmt)
    if frame.empty:
        return pd.DataFrame(columns=list(CASE_LIST_COLUMNS))
    frame = assign_colors(frame, as_of, rules or load_rules(conn))
    registered = pd.to_datetime(frame["registered_on"])
    frame["days_open"] = (pd.Timestamp(as_of) - registered).dt.days.astype("int64")
    frame["registered_on"] = registered.dt.date
    frame["is_backlog"] = frame["is_backlog"].astype(bool)
    # Only computed deadlines can be provisional, not a clearance target.
    frame["provisional"] = frame["provisional"].fillna(False).astype(bool) & frame["stage"].isin(
        ["acceptance", "handling"]
    )
    return frame[list(CASE_LIST_COLUMNS)].reset_index(drop=True)


STORED_STATUS = ("stage", "deadline", "days_left", "color")


def stored_status_select(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    """`case_list_select` with each case's stored stage, deadline, days left and color
    (`case_colors`; NULL for a case without a stored color)."""
    return (case_list_select(*conditions)
            .outerjoin(case_colors, case_colors.c.case_id == cases.c.id)
            .add_columns(*[case_colors.c[name] for name in STORED_STATUS]))


def fetch_colored_list(conn: Connection, conditions, as_of: dt.date) -> pd.DataFrame:
    """`fetch_case_list` of the cases matching `conditions`, their colors read from
    `case_colors` when stored for `as_of` (the same rule, computed at refresh); a row
    without a stored color (a case the rule leaves uncolored) is colored here."""
    if not summary._colors_ready(conn, as_of):
        return fetch_case_list(conn, case_list_select(*conditions), as_of)
    stored = STORED_STATUS
    frame = read_frame(conn, stored_status_select(*conditions))
    if frame.empty:
        return pd.DataFrame(columns=list(CASE_LIST_COLUMNS))
    missing = frame["color"].isna()
    if missing.any():
        computed = assign_colors(frame.loc[missing].drop(columns=list(stored)), as_of, load_rules(conn))
        frame = frame.astype({name: object for name in stored})
        frame.loc[missing, list(stored)] = computed[list(stored)].to_numpy()
    return _finish_stored(frame, as_of)


def _finish_stored(frame: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=list(CASE_LIST_COLUMNS))
    registered = pd.to_datetime(frame["registered_on"])
    frame["days_open"] = (pd.Timestamp(as_of) - registered).dt.days.astype("int64")
    frame["registered_on"] = registered.dt.date
    frame["is_backlog"] = frame["is_backlog"].astype(bool)
    frame["days_left"] = frame["days_left"].astype("Int64")
    frame["provisional"] = frame["provisional"].fillna(False).astype(bool) & frame["stage"].isin(
        ["acceptance", "handling"])
    return frame[list(CASE_LIST_COLUMNS)].reset_index(drop=True)


def open_cases(
    conn: Connection, scope: Scope, filters: Filters
) -> pd.DataFrame:
    """Every case open at the end of the period (any registration date), with its color.

    Sorted most urgent first: red, yellow, green, then fewest days left.
    """
    as_of = filters.as_of
    if summary._colors_ready(conn, as_of):  # colored by the same rule, stored for this date
        # `id IN (colored cases)`: read from the few colored cases, not every case of the scope
        colored = sa.select(case_colors.c.case_id).where(case_colors.c.registered_on <= as_of)
        frame = fetch_colored_list(conn, [*case_conditions(scope, filters, period=False), cases.c.id.in_(colored)],
                                   as_of)
    else:
        stmt = case_list_select(*case_conditions(scope, filters, period=False), open_condition(as_of))
        frame = fetch_case_list(conn, stmt, as_of)
    if frame.empty:
        return frame
    order = frame["color"].map({"red": 0, "yellow": 1, "green": 2})
    return (
        frame.assign(_order=order)
        .sort_values(["_order", "days_left", "case_no"], na_position="last")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def period_cases(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Every case registered in the period, open or closed, with its status at the period
    end (closed cases have no stage and no color). Newest first."""
    stmt = case_list_select(*case_conditions(scope, filters))
    frame = fetch_case_list(conn, stmt, filters.as_of)
    return frame.sort_values(["registered_on", "case_no"], ascending=[False, True]).reset_index(drop=True)


def case_by_number(conn: Connection, scope: Scope, case_no: str, as_of: dt.date) -> pd.DataFrame:
    """One case (or an empty frame) if it lies in the caller's scope."""
    stmt = case_list_select(scope_condition(scope), cases.c.case_no == case_no)
    return fetch_case_list(conn, stmt, as_of)


DETAIL_COLUMNS = ("acceptance_due", "handling_due", "feedback_due", "meeting_due", "extension_days",
                  "deadline_provisional", "accepted_on", "replied_on", "closed_on", "resolved_on",
                  "clearance_target", "track", "persons", "is_collective", "escalation",
                  "satisfaction")


def case_detail(conn: Connection, scope: Scope, case_no: str, as_of: dt.date) -> pd.DataFrame:
    """One case in the caller's scope with its status and every computed deadline
    (an empty frame if it does not exist or lies outside the scope)."""
    frame = case_by_number(conn, scope, case_no, as_of)
    if frame.empty:
        return frame
    extra = conn.execute(
        sa.select(*[cases.c[c] for c in DETAIL_COLUMNS], rule_presets.c.title.label("preset_title"))
        .select_from(cases.outerjoin(rule_presets, rule_presets.c.name == cases.c.preset))
        .where(cases.c.case_no == case_no)
    ).mappings().one()
    for column, value in extra.items():
        frame[column] = [value]
    return frame


def case_events_list(conn: Connection, scope: Scope, case_id: int) -> pd.DataFrame:
    """The chain of a case in the caller's scope (dispatched … evaluated), in time order."""
    stmt = (
        sa.select(case_events.c.kind, case_events.c.at, case_events.c.actor, case_events.c.note)
        .join(cases, cases.c.id == case_events.c.case_id)
        .where(case_events.c.case_id == case_id, scope_condition(scope))
        .order_by(case_events.c.at, case_events.c.id)
    )
    return pd.DataFrame(conn.execute(stmt).all(), columns=["kind", "at", "actor", "note"])


def case_people(conn: Connection, scope: Scope, case_id: int) -> dict:
    """Petitioner fields of one case (for masking by the caller) and its two units."""
    row = conn.execute(
        sa.select(cases.c.petitioner_name, cases.c.petitioner_phone, cases.c.petitioner_id_no,
                  cases.c.summary)
        .where(cases.c.id == case_id, scope_condition(scope))
    ).mappings().first()
    assigned = conn.execute(
        sa.select(case_units.c.role, units.c.name)
        .join(units, units.c.id == case_units.c.unit_id)
        .where(case_units.c.case_id == case_id)
        .order_by(case_units.c.role)
    ).all()
    return {**(dict(row) if row else {}), "units": [(r.role, r.name) for r in assigned]}


def case_ids(conn: Connection, scope: Scope, filters: Filters) -> list[int]:
    """Ids of the cases in scope matching the filters (registered in the period)."""
    return list(conn.execute(sa.select(cases.c.id).where(*case_conditions(scope, filters))).scalars())


def open_cases_page(conn: Connection, scope: Scope, filters: Filters, colors: tuple[str, ...] = (),
                    stages: tuple[str, ...] = (), unit: str = "", offset: int = 0,
                    limit: int | None = 200) -> pd.DataFrame:
    """One page of `open_cases` (the same columns and order: red, yellow, green, fewest
    days left first) narrowed to the given colors, stages and responsible unit (name
    containing `unit`), with a column `total`: how many cases match in all. Read from the
    stored colors when they are for the period end (only the page's rows are fetched;
    `limit=None`: every row, for downloads), else from `open_cases`."""
    as_of = filters.as_of
    unit = unit.strip()
    if not summary._colors_ready(conn, as_of):
        frame = open_cases(conn, scope, filters)
        if colors:
            frame = frame[frame["color"].isin(colors)]
        if stages:
            frame = frame[frame["stage"].isin(stages)]
        if unit:
            frame = frame[frame["unit_name"].fillna("").str.contains(unit, regex=False)]
        total = len(frame)
        frame = frame.iloc[offset:None if limit is None else offset + limit].reset_index(drop=True)
        return frame.assign(total=pd.Series([total] * len(frame), dtype="int64"))
    shown = [case_colors.c.registered_on <= as_of]
    if colors:
        shown.append(case_colors.c.color.in_(colors))
    if stages:
        shown.append(case_colors.c.stage.in_(stages))
    conditions = case_conditions(scope, filters, period=False)
    if unit:
        named = sa.select(units.c.id).where(units.c.name.contains(unit, autoescape=True))
        conditions.append(cases.c.responsible_unit_id.in_(named))
    colored = sa.select(case_colors.c.case_id).where(*shown)
    total = conn.execute(
        sa.select(sa.func.count()).select_from(cases).where(*conditions, cases.c.id.in_(colored))).scalar_one()
    urgency = sa.case({"red": 0, "yellow": 1, "green": 2}, value=case_colors.c.color, else_=3)
    stmt = (
        case_list_select(*conditions, cases.c.id.in_(colored))
        .join(case_colors, case_colors.c.case_id == cases.c.id)
        .add_columns(case_colors.c.stage, case_colors.c.deadline, case_colors.c.days_left, case_colors.c.color)
        .order_by(urgency, case_colors.c.days_left.is_(None), case_colors.c.days_left, cases.c.case_no)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    frame = _finish_stored(read_frame(conn, stmt), as_of)
    return frame.assign(total=pd.Series([int(total)] * len(frame), dtype="int64"))
