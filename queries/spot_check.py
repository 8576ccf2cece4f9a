"""Spot-check candidates, draw history and the cases of a stored draw."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.db import read_frame
from dashboard.draws import COLOR_WEIGHTS, Candidate, age_weight, candidates_from_frame
from dashboard.models import cases, spot_check_draw_cases, spot_check_draws
from queries.cases import CASE_LIST_COLUMNS, case_list_select, fetch_case_list, fetch_colored_list
from queries.filters import (
    Filters,
    Scope,
    case_conditions,
    code_in_scope,
    scope_condition,
    unresolved_backlog_condition,
)


@dataclass(frozen=True)
class CandidateOptions:
    """Spot-check filters on top of the sidebar ones (empty means all)."""

    colors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # national / province / local
    min_days_open: int = 0
    exclude_last: int = 0  # leave out cases drawn in the last K meetings
    # The draw being prepared: its own meeting (and the draw a redraw replaces) is not
    # one of the "last K meetings".
    meeting_id: int | None = None
    replaces_draw_id: int | None = None


def recently_drawn(
    conn: Connection, scope: Scope, last: int, *, meeting_id: int | None = None,
    replaces_draw_id: int | None = None,
) -> set[int]:
    """Case ids drawn in the last `last` meetings, counted as sittings: all draws of a
    meeting are one sitting, a draw without a meeting is a sitting of its own. A replaced
    draw does not count (its replacement does); the meeting being drawn for and the draw
    being replaced are left out, so a redraw excludes the same cases as the original."""
    if last <= 0:
        return set()
    replaced = sa.select(spot_check_draws.c.replaces_draw_id).where(spot_check_draws.c.replaces_draw_id.is_not(None))
    stmt = (
        sa.select(spot_check_draws.c.id, spot_check_draws.c.meeting_id)
        .where(draws_in_scope(scope), spot_check_draws.c.id.not_in(replaced))
        .order_by(spot_check_draws.c.id.desc())
    )
    if meeting_id is not None:
        stmt = stmt.where(sa.or_(spot_check_draws.c.meeting_id.is_(None), spot_check_draws.c.meeting_id != meeting_id))
    if replaces_draw_id is not None:
        stmt = stmt.where(spot_check_draws.c.id != replaces_draw_id)
    sessions: list = []
    chosen: list[int] = []
    for draw_id, meeting in conn.execute(stmt).all():
        session = ("meeting", meeting) if meeting is not None else ("draw", draw_id)
        if session not in sessions:
            if len(sessions) == last:
                break
            sessions.append(session)
        chosen.append(draw_id)
    if not chosen:
        return set()
    return set(conn.execute(
        sa.select(spot_check_draw_cases.c.case_id).where(spot_check_draw_cases.c.draw_id.in_(chosen))
    ).scalars())


def candidate_frame(
    conn: Connection, scope: Scope, filters: Filters, as_of: dt.date,
    options: CandidateOptions | None = None,
) -> pd.DataFrame:
    """Unresolved backlog cases on `as_of` matching the region/domain/channel filters
    and the spot-check options, with their color, days open and both weights. The
    period filter does not apply: a backlog case stays a candidate whatever year it
    came in. Sorted by case number."""
    options = options or CandidateOptions()
    frame = fetch_colored_list(conn, [*case_conditions(scope, filters, period=False),
                                      unresolved_backlog_condition(as_of)], as_of)
    if options.colors:
        frame = frame[frame["color"].isin(options.colors)]
    if options.sources:
        frame = frame[frame["backlog_source"].isin(options.sources)]
    if options.min_days_open:
        frame = frame[frame["days_open"] >= options.min_days_open]
    if options.exclude_last:
        recent = recently_drawn(conn, scope, options.exclude_last, meeting_id=options.meeting_id,
                                replaces_draw_id=options.replaces_draw_id)
        frame = frame[~frame["case_id"].isin(recent)]
    frame = frame.sort_values("case_no").reset_index(drop=True)
    frame["weight_age"] = frame["days_open"].map(age_weight) if not frame.empty else pd.Series(dtype=float)
    frame["weight_color"] = frame["color"].map(COLOR_WEIGHTS).fillna(1.0) if not frame.empty else pd.Series(dtype=float)
    return frame


def draw_candidates(
    conn: Connection, scope: Scope, filters: Filters, as_of: dt.date,
    options: CandidateOptions | None = None, weight_by: str | None = None,
) -> list[Candidate]:
    """The candidates of a draw, sorted by case number."""
    return candidates_from_frame(candidate_frame(conn, scope, filters, as_of, options), weight_by)


def draw_params(scope: Scope, filters: Filters, options: CandidateOptions, as_of: dt.date) -> dict:
    """The filters of a draw as stored with it (the same keys from the page and the CLI)."""
    return {
        "region": scope.region_code, "county": filters.county_code, "township": filters.township_code,
        "domains": list(filters.domains), "channels": list(filters.channels), "colors": list(options.colors),
        "sources": list(options.sources), "min_days_open": options.min_days_open,
        "exclude_last": options.exclude_last, "as_of": as_of.isoformat(),
    }


def draws_in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    """Draws made for the scope's region or a region below it."""
    return code_in_scope(spot_check_draws.c.scope_code, scope)


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
            spot_check_draws.c.meeting_id,
            spot_check_draws.c.replaces_draw_id,
            spot_check_draws.c.redraw_reason,
            spot_check_draws.c.chain_seq,
            spot_check_draws.c.record_digest,
            sa.select(sa.func.count())
            .where(spot_check_draw_cases.c.draw_id == spot_check_draws.c.id)
            .scalar_subquery()
            .label("n_drawn"),
        )
        .where(draws_in_scope(scope))
        .order_by(spot_check_draws.c.id.desc())
    )
    frame = read_frame(conn, stmt)
    if frame.empty:
        return pd.DataFrame(
            columns=["draw_id", "created_at", "created_by", "meeting", "method", "seed",
                     "n_requested", "candidate_count", "candidate_fingerprint",
                     "algorithm_version", "params", "meeting_id", "replaces_draw_id", "redraw_reason",
                     "chain_seq", "record_digest", "n_drawn"]
        )
    frame["params"] = frame["params"].map(json.loads)
    return frame


def drawn_cases(conn: Connection, scope: Scope, draw_id: int, as_of: dt.date) -> pd.DataFrame:
    """The cases of a stored draw in draw order, with their current status on `as_of`."""
    positions = pd.DataFrame(
        conn.execute(
            sa.select(spot_check_draw_cases.c.position, spot_check_draw_cases.c.case_id)
            .join(spot_check_draws, spot_check_draws.c.id == spot_check_draw_cases.c.draw_id)
            .where(spot_check_draw_cases.c.draw_id == draw_id, draws_in_scope(scope))
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


def draws_with_case(conn: Connection, scope: Scope, case_id: int) -> pd.DataFrame:
    """The stored draws (in scope) that drew this case, newest first."""
    rows = conn.execute(
        sa.select(spot_check_draws.c.id.label("draw_id"), spot_check_draws.c.created_at, spot_check_draws.c.meeting)
        .join(spot_check_draw_cases, spot_check_draw_cases.c.draw_id == spot_check_draws.c.id)
        .where(spot_check_draw_cases.c.case_id == case_id, draws_in_scope(scope))
        .order_by(spot_check_draws.c.id.desc())
    ).all()
    return pd.DataFrame(rows, columns=["draw_id", "created_at", "meeting"])
