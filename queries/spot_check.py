"""Spot-check candidates, draw history and the cases of a stored draw."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.draws import Candidate
from dashboard.models import cases, spot_check_draw_cases, spot_check_draws
from queries.cases import CASE_LIST_COLUMNS, case_list_select, fetch_case_list
from queries.filters import (
    Filters,
    Scope,
    case_conditions,
    scope_condition,
    unresolved_backlog_condition,
)


def draw_candidates(conn: Connection, scope: Scope, filters: Filters, as_of: dt.date) -> list[Candidate]:
    """Unresolved backlog cases on `as_of` matching the region/domain/channel filters
    (the period filter does not apply: a backlog case stays a candidate whatever year
    it came in), sorted by case number."""
    stmt = (
        sa.select(cases.c.id, cases.c.case_no, cases.c.county_code)
        .where(*case_conditions(scope, filters, period=False), unresolved_backlog_condition(as_of))
        .order_by(cases.c.case_no)
    )
    return [Candidate(row.id, row.case_no, row.county_code) for row in conn.execute(stmt)]


def _draws_in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    if scope.level == "city":
        return spot_check_draws.c.scope_code.like(scope.region_code[:4] + "%")
    return spot_check_draws.c.scope_code.like(scope.region_code + "%")


def draw_history(conn: Connection, scope: Scope, filters: Filters | None = None) -> pd.DataFrame:
    """Past draws made within the caller's scope, newest first."""
    stmt = (
        sa.select(
            spot_check_draws.c.id.label("draw_id"),
            spot_check_draws.c.created_at,
            spot_check_draws.c.created_by,
            spot_check_draws.c.meeting,
            spot_check_draws.c.method,
            spot_check_draws.c.seed,
            spot_check_draws.c.n_requested,
            spot_check_draws.c.candidate_count,
            spot_check_draws.c.candidate_fingerprint,
            spot_check_draws.c.algorithm_version,
            spot_check_draws.c.params,
            sa.select(sa.func.count())
            .where(spot_check_draw_cases.c.draw_id == spot_check_draws.c.id)
            .scalar_subquery()
            .label("n_drawn"),
        )
        .where(_draws_in_scope(scope))
        .order_by(spot_check_draws.c.id.desc())
    )
    frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    if frame.empty:
        return pd.DataFrame(
            columns=["draw_id", "created_at", "created_by", "meeting", "method", "seed",
                     "n_requested", "candidate_count", "candidate_fingerprint",
                     "algorithm_version", "params", "n_drawn"]
        )
    frame["params"] = frame["params"].map(json.loads)
    return frame


def drawn_cases(conn: Connection, scope: Scope, draw_id: int, as_of: dt.date) -> pd.DataFrame:
    """The cases of a stored draw in draw order, with their current status on `as_of`."""
    positions = pd.DataFrame(
        conn.execute(
            sa.select(spot_check_draw_cases.c.position, spot_check_draw_cases.c.case_id)
            .join(spot_check_draws, spot_check_draws.c.id == spot_check_draw_cases.c.draw_id)
            .where(spot_check_draw_cases.c.draw_id == draw_id, _draws_in_scope(scope))
        ).all(),
        columns=["position", "case_id"],
    )
    if positions.empty:
        return pd.DataFrame(columns=["position", *CASE_LIST_COLUMNS])
    stmt = case_list_select(scope_condition(scope), cases.c.id.in_(positions["case_id"].tolist()))
    frame = fetch_case_list(conn, stmt, as_of)
    return (
        positions.merge(frame, on="case_id", how="inner")
        .sort_values("position")
        .reset_index(drop=True)
    )
