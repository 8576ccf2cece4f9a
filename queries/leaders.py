"""Leader case-taking board (领导包案): each leader's cases, resolution and activity."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import case_events, cases, leaders, regions
from queries.cases import open_cases
from queries.filters import Filters, Scope, case_conditions

BOARD_COLUMNS = ["leader_id", "name", "title", "level", "region_code", "region_name", "cases", "resolved",
                 "resolution_rate", "overdue", "last_action", "days_since_action"]


def leader_board(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Every leader in charge of cases in scope (registered by the period end): cases,
    resolved by then, resolution rate, open red (overdue) cases, days since the last
    recorded step on any of them. Most overdue first."""
    as_of = filters.as_of
    conditions = [*case_conditions(scope, filters, period=False), cases.c.leader_id.is_not(None),
                  cases.c.registered_on <= as_of]
    resolved = sa.func.coalesce(sa.func.sum(sa.case(
        (sa.and_(cases.c.resolved_on.is_not(None), cases.c.resolved_on <= as_of), 1), else_=0)), 0)
    rows = conn.execute(
        sa.select(cases.c.leader_id, sa.func.count().label("cases"), resolved.label("resolved"))
        .where(*conditions).group_by(cases.c.leader_id)
    ).all()
    board = pd.DataFrame(rows, columns=["leader_id", "cases", "resolved"])
    if board.empty:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    last = conn.execute(
        sa.select(cases.c.leader_id, sa.func.max(case_events.c.at).label("last_action"))
        .join(cases, cases.c.id == case_events.c.case_id)
        .where(*conditions, case_events.c.at < pd.Timestamp(as_of) + pd.Timedelta(days=1))
        .group_by(cases.c.leader_id)
    ).all()
    board = board.merge(pd.DataFrame(last, columns=["leader_id", "last_action"]), on="leader_id", how="left")
    people = pd.DataFrame(conn.execute(
        sa.select(leaders.c.id.label("leader_id"), leaders.c.name, leaders.c.title, leaders.c.level,
                  leaders.c.region_code, regions.c.name.label("region_name"))
        .outerjoin(regions, regions.c.code == leaders.c.region_code)
        .where(leaders.c.id.in_(board["leader_id"].tolist()))
    ).mappings().all())
    board = board.merge(people, on="leader_id", how="left")
    red = open_cases(conn, scope, filters)
    red = red[(red["color"] == "red") & red["leader_name"].notna()]
    overdue = conn.execute(
        sa.select(cases.c.leader_id, sa.func.count()).where(cases.c.id.in_(red["case_id"].tolist()))
        .group_by(cases.c.leader_id)
    ).all() if not red.empty else []
    board["overdue"] = board["leader_id"].map(dict(overdue)).fillna(0).astype("int64")
    board["resolution_rate"] = board["resolved"] / board["cases"]
    last_day = pd.to_datetime(board["last_action"]).dt.normalize()
    board["days_since_action"] = (pd.Timestamp(as_of) - last_day).dt.days.astype("Int64")
    return board.sort_values(["overdue", "resolution_rate", "name"], ascending=[False, True, True])[
        BOARD_COLUMNS].reset_index(drop=True)


def leader_cases(conn: Connection, scope: Scope, filters: Filters, leader_id: int) -> pd.DataFrame:
    """The cases a leader is in charge of (open ones with their color)."""
    from queries.cases import case_list_select, fetch_case_list

    stmt = case_list_select(*case_conditions(scope, filters, period=False), cases.c.leader_id == leader_id,
                            cases.c.registered_on <= filters.as_of)
    return fetch_case_list(conn, stmt, filters.as_of).sort_values(["registered_on", "case_no"]).reset_index(drop=True)
