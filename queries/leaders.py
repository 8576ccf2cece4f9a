"""Leader case-taking board (领导包案): each leader's backlog cases, resolution and activity.

Leader case-taking is about backlog cases (domain.md §2): cases in charge, resolved and
the resolution rate (§6: resolved backlog ÷ backlog) count backlog cases only. Other
cases a leader is in charge of (notable collective or escalated visits) are counted in
a column of their own.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import case_colors, case_events, cases, leaders, regions
from queries import summary
from queries.cases import case_list_select, fetch_case_list
from queries.filters import Filters, Scope, case_conditions, open_condition

BOARD_COLUMNS = ["leader_id", "name", "title", "level", "region_code", "region_name", "cases", "resolved",
                 "resolution_rate", "overdue", "other_cases", "last_action", "days_since_action"]


# SQLite, without statistics, would read every case of a county by its date index; the
# few cases with a leader are found by their own index, which also holds what the board
# counts (PostgreSQL plans this itself; its index-only scan needs the table vacuumed).
LEADER_INDEX = "INDEXED BY ix_cases_leader"


def _leader_conditions(scope: Scope, filters: Filters) -> list[sa.ColumnElement[bool]]:
    return [*case_conditions(scope, filters, period=False), cases.c.leader_id.is_not(None),
            cases.c.registered_on <= filters.as_of]


def leader_board(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Every leader in charge of cases in scope (registered by the period end): backlog
    cases in charge, resolved by then, resolution rate, overdue (backlog cases red under
    the three-color rule at the period end), other cases in charge, and days since the
    last recorded step on any of the backlog cases. Most overdue first."""
    as_of = filters.as_of
    conditions = _leader_conditions(scope, filters)
    c = cases.c
    backlog = c.is_backlog.is_(True)
    # Counted per leader in the database (a few rows back, not one per case).
    counts = pd.DataFrame(conn.execute(
        sa.select(c.leader_id, sa.func.sum(sa.case((backlog, 1), else_=0)).label("cases"),
                  sa.func.sum(sa.case((sa.and_(backlog, c.resolved_on.is_not(None), c.resolved_on <= as_of), 1),
                                      else_=0)).label("resolved"),
                  sa.func.count().label("taken"))
        .where(*conditions).group_by(c.leader_id)
        .with_hint(cases, LEADER_INDEX, dialect_name="sqlite")
    ).all(), columns=["leader_id", "cases", "resolved", "taken"])
    if counts.empty:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    for column in ("cases", "resolved", "taken"):
        counts[column] = counts[column].astype("int64")
    counts["other_cases"] = counts["taken"] - counts["cases"]
    board = counts.merge(_overdue(conn, scope, filters, conditions), on="leader_id", how="left")
    board["overdue"] = board["overdue"].fillna(0).astype("int64")
    # The last step of each backlog case is one seek on the (case_id, at) index.
    step = case_events.alias("step")
    last_step = (sa.select(sa.func.max(step.c.at))
                 .where(step.c.case_id == c.id, step.c.at < pd.Timestamp(as_of) + pd.Timedelta(days=1))
                 .scalar_subquery())
    last = conn.execute(
        sa.select(c.leader_id, sa.func.max(last_step).label("last_action"))
        .where(*conditions, backlog)
        .with_hint(cases, LEADER_INDEX, dialect_name="sqlite")
        .group_by(c.leader_id)
    ).all()
    board = board.merge(pd.DataFrame(last, columns=["leader_id", "last_action"]), on="leader_id", how="left")
    people = pd.DataFrame(conn.execute(
        sa.select(leaders.c.id.label("leader_id"), leaders.c.name, leaders.c.title, leaders.c.level,
                  leaders.c.region_code, regions.c.name.label("region_name"))
        .outerjoin(regions, regions.c.code == leaders.c.region_code)
        .where(leaders.c.id.in_(board["leader_id"].tolist()))
    ).mappings().all())
    board = board.merge(people, on="leader_id", how="left")
    board["resolution_rate"] = board["resolved"] / board["cases"].where(board["cases"] > 0)
    last_day = pd.to_datetime(board["last_action"]).dt.normalize()
    board["days_since_action"] = (pd.Timestamp(as_of) - last_day).dt.days.astype("Int64")
    return board.sort_values(["overdue", "resolution_rate", "name"], ascending=[False, True, True],
                             na_position="last")[BOARD_COLUMNS].reset_index(drop=True)


def _overdue(conn: Connection, scope: Scope, filters: Filters, conditions) -> pd.DataFrame:
    """Per leader: backlog cases red at the period end under the one color rule, from the
    stored colors when they are for that date, else colored here (columns leader_id, overdue)."""
    as_of = filters.as_of
    backlog = cases.c.is_backlog.is_(True)
    if summary._colors_ready(conn, as_of):  # stored by the same rule for this date
        red = sa.select(case_colors.c.case_id).where(
            *summary._conditions(scope, filters, case_colors), case_colors.c.color == "red",
            case_colors.c.is_backlog.is_(True), case_colors.c.leader_id.is_not(None),
            case_colors.c.registered_on <= as_of)
        return pd.DataFrame(conn.execute(
            sa.select(cases.c.leader_id, sa.func.count()).where(*conditions, backlog, cases.c.id.in_(red))
            .group_by(cases.c.leader_id)
        ).all(), columns=["leader_id", "overdue"])
    colored = fetch_case_list(conn, case_list_select(*conditions, backlog, open_condition(as_of)), as_of)
    red = colored.loc[colored["color"] == "red", "case_id"].astype("int64")
    if red.empty:
        return pd.DataFrame(columns=["leader_id", "overdue"])
    leader_of = dict(conn.execute(sa.select(cases.c.id, cases.c.leader_id).where(*conditions, backlog)).all())
    return red.map(leader_of).value_counts().rename_axis("leader_id").rename("overdue").reset_index()


def leader_cases(conn: Connection, scope: Scope, filters: Filters, leader_id: int) -> pd.DataFrame:
    """The cases a leader is in charge of (open ones with their color): backlog cases
    first, each group by registration date."""
    stmt = case_list_select(*_leader_conditions(scope, filters), cases.c.leader_id == leader_id)
    frame = fetch_case_list(conn, stmt, filters.as_of)
    return frame.sort_values(["is_backlog", "registered_on", "case_no"], ascending=[False, True, True]).reset_index(
        drop=True)
