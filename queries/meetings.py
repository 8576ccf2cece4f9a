"""Meetings, whom to notify, the agenda of a draw, outcomes and follow-ups."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.labels import EVENT_KINDS
from dashboard.models import (
    case_events,
    cases,
    follow_up_reports,
    meeting_outcomes,
    meetings,
    spot_check_draws,
)
from queries.cases import case_list_select, fetch_case_list
from queries.filters import Filters, Scope, case_conditions, code_in_scope, scope_condition
from queries.spot_check import drawn_cases, draws_in_scope


def _meetings_in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    return code_in_scope(meetings.c.scope_code, scope)


def meeting_list(conn: Connection, scope: Scope, filters: Filters | None = None) -> pd.DataFrame:
    """Meetings in scope, the next first (the secret is not stored: only its commitment)."""
    stmt = (
        sa.select(meetings.c.id.label("meeting_id"), meetings.c.title, meetings.c.scheduled_at,
                  meetings.c.created_by, meetings.c.seed_commitment, meetings.c.public_value_rule,
                  meetings.c.revealed_at,
                  sa.select(sa.func.count()).where(spot_check_draws.c.meeting_id == meetings.c.id)
                  .scalar_subquery().label("n_draws"))
        .where(_meetings_in_scope(scope))
        .order_by(meetings.c.scheduled_at.desc(), meetings.c.id.desc())
    )
    return pd.DataFrame(conn.execute(stmt).mappings().all(),
                        columns=["meeting_id", "title", "scheduled_at", "created_by", "seed_commitment",
                                 "public_value_rule", "revealed_at", "n_draws"])


def _timeline_summary(conn: Connection, case_ids: list[int]) -> dict[int, str]:
    """One line per case: 交办 03-05 → 受理 03-07 → …"""
    if not case_ids:
        return {}
    rows = conn.execute(
        sa.select(case_events.c.case_id, case_events.c.kind, case_events.c.at)
        .where(case_events.c.case_id.in_(case_ids))
        .order_by(case_events.c.case_id, case_events.c.at, case_events.c.id)
    ).all()
    lines: dict[int, list[str]] = {}
    for case_id, kind, at in rows:
        lines.setdefault(case_id, []).append(f"{EVENT_KINDS.get(kind, kind)} {at:%Y-%m-%d}")
    return {case_id: " → ".join(parts) for case_id, parts in lines.items()}


def agenda(conn: Connection, scope: Scope, draw_id: int, as_of: dt.date) -> pd.DataFrame:
    """The drawn cases of a draw with what the meeting needs: summary, timeline, leader."""
    frame = drawn_cases(conn, scope, draw_id, as_of)
    if frame.empty:
        return frame.assign(timeline=pd.Series(dtype=object))
    summaries = _timeline_summary(conn, frame["case_id"].astype(int).tolist())
    return frame.assign(timeline=frame["case_id"].map(lambda i: summaries.get(int(i), "")))


def notify_list(conn: Connection, scope: Scope, draw_id: int, as_of: dt.date) -> pd.DataFrame:
    """Whom to notify before the meeting: each drawn case's leader in charge, and its county."""
    frame = drawn_cases(conn, scope, draw_id, as_of)
    if frame.empty:
        return pd.DataFrame(columns=["county_name", "leader_name", "leader_title", "cases"])
    frame = frame.assign(leader_name=frame["leader_name"].fillna("（未明确包案领导）"),
                         leader_title=frame["leader_title"].fillna(""))
    return (
        frame.groupby(["county_name", "leader_name", "leader_title"], dropna=False)["case_no"]
        .agg(lambda numbers: "、".join(numbers))
        .reset_index()
        .rename(columns={"case_no": "cases"})
    )


OUTCOME_COLUMNS = ["outcome_id", "draw_id", "case_id", "case_no", "leader_report", "comment", "rating",
                   "follow_up_due", "recorded_by", "recorded_at"]


def outcomes(conn: Connection, scope: Scope, draw_id: int | None = None, case_id: int | None = None) -> pd.DataFrame:
    """Recorded meeting outcomes in scope (latest first), of one draw or one case."""
    stmt = (
        sa.select(meeting_outcomes.c.id.label("outcome_id"), meeting_outcomes.c.draw_id, meeting_outcomes.c.case_id,
                  cases.c.case_no, meeting_outcomes.c.leader_report, meeting_outcomes.c.comment,
                  meeting_outcomes.c.rating, meeting_outcomes.c.follow_up_due, meeting_outcomes.c.recorded_by,
                  meeting_outcomes.c.recorded_at)
        .join(cases, cases.c.id == meeting_outcomes.c.case_id)
        .join(spot_check_draws, spot_check_draws.c.id == meeting_outcomes.c.draw_id)
        .where(scope_condition(scope), draws_in_scope(scope))
        .order_by(meeting_outcomes.c.id.desc())
    )
    if draw_id is not None:
        stmt = stmt.where(meeting_outcomes.c.draw_id == draw_id)
    if case_id is not None:
        stmt = stmt.where(meeting_outcomes.c.case_id == case_id)
    return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=OUTCOME_COLUMNS)


def follow_ups(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Open follow-ups: the latest outcome of each case with a follow-up deadline whose
    case is not resolved (backlog) or not closed, with days left at the period end."""
    latest = (
        sa.select(sa.func.max(meeting_outcomes.c.id))
        .group_by(meeting_outcomes.c.case_id)
        .scalar_subquery()
    )
    as_of = filters.as_of
    still_open = sa.or_(
        sa.and_(cases.c.is_backlog.is_(True), sa.or_(cases.c.resolved_on.is_(None), cases.c.resolved_on > as_of)),
        sa.and_(cases.c.is_backlog.is_(False), sa.or_(cases.c.closed_on.is_(None), cases.c.closed_on > as_of)),
    )
    rows = pd.DataFrame(conn.execute(
        sa.select(meeting_outcomes.c.case_id, meeting_outcomes.c.draw_id, meeting_outcomes.c.rating,
                  meeting_outcomes.c.comment, meeting_outcomes.c.follow_up_due)
        .join(cases, cases.c.id == meeting_outcomes.c.case_id)
        .where(meeting_outcomes.c.id.in_(latest), meeting_outcomes.c.follow_up_due.is_not(None),
               *case_conditions(scope, filters, period=False), still_open)
    ).mappings().all(), columns=["case_id", "draw_id", "rating", "comment", "follow_up_due"])
    if rows.empty:
        return rows.assign(case_no=[], county_name=[], township_name=[], leader_name=[], unit_name=[],
                           follow_up_days_left=[])
    frame = fetch_case_list(conn, case_list_select(cases.c.id.in_(rows["case_id"].tolist())), as_of)
    out = rows.merge(frame[["case_id", "case_no", "county_name", "township_name", "leader_name", "unit_name", "color"]],
                     on="case_id")
    out["follow_up_days_left"] = (pd.to_datetime(out["follow_up_due"]) - pd.Timestamp(as_of)).dt.days
    return out.sort_values(["follow_up_days_left", "case_no"]).reset_index(drop=True)


def follow_up_progress(conn: Connection, scope: Scope, case_id: int) -> pd.DataFrame:
    """Progress reported on a case's meeting follow-ups (in scope), newest first."""
    stmt = (
        sa.select(follow_up_reports.c.outcome_id, follow_up_reports.c.reported_at, follow_up_reports.c.progress,
                  follow_up_reports.c.reported_by)
        .join(cases, cases.c.id == follow_up_reports.c.case_id)
        .where(follow_up_reports.c.case_id == case_id, scope_condition(scope))
        .order_by(follow_up_reports.c.id.desc())
    )
    return pd.DataFrame([tuple(r) for r in conn.execute(stmt).all()],
                        columns=["outcome_id", "reported_at", "progress", "reported_by"])
