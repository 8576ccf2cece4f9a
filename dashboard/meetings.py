"""Supervision meetings: a committed seed before the meeting, outcomes and follow-ups
after it (outcomes and follow-up reports are links of the record chain, `dashboard.chain`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import chain
from dashboard.draws import DrawError, canonical_secret, commitment
from dashboard.models import (
    cases,
    follow_up_reports,
    meeting_outcomes,
    meetings,
    spot_check_draw_cases,
)

# The meeting's verdict on the leader's work (not the petitioners' 满意 / 不满意 words).
RATINGS = {"satisfactory": "工作到位", "needs_work": "需改进", "unsatisfactory": "工作不力"}
# Taizhou draws four hours before the meeting (domain.md §1).
DRAW_LEAD_TIME = dt.timedelta(hours=4)
MAX_RULE_LENGTH = 100  # the public_value_rule column


def time_left(when: dt.datetime, now: dt.datetime) -> str:
    """Time from `now` to `when` in Chinese (days, hours, minutes)."""
    seconds = int((when - now).total_seconds())
    if seconds < 0:
        return "已开始或已结束"
    days, rest = divmod(seconds, 86400)
    return (f"{days} 天 " if days else "") + f"{rest // 3600} 小时 {rest % 3600 // 60} 分"


def draw_time(scheduled_at: dt.datetime) -> dt.datetime:
    """The suggested draw time: four hours before the meeting."""
    return scheduled_at - DRAW_LEAD_TIME


def create_meeting(
    conn: Connection, *, title: str, scheduled_at: dt.datetime, scope_code: str, created_by: str,
    secret: str, public_value_rule: str | None = None, now: dt.datetime | None = None,
) -> tuple[int, str]:
    """A new meeting committed to `secret` (`draws.new_seed()`, which the caller shows
    once to the officer and never stores): only its SHA-256 is stored. With
    `public_value_rule` the draw also needs the value it names, announced at the meeting.
    Returns (meeting_id, commitment)."""
    if not title.strip():
        raise DrawError("请填写会议名称。")
    if not created_by.strip():
        raise DrawError("请填写组织人。")
    rule = " ".join((public_value_rule or "").split()) or None
    if rule and len(rule) > MAX_RULE_LENGTH:
        raise DrawError(f"公开值的来源说明最长 {MAX_RULE_LENGTH} 个字，现为 {len(rule)} 个，请精简。")
    digest = commitment(canonical_secret(secret))
    meeting_id = conn.execute(meetings.insert().values(
        title=title.strip(), scheduled_at=scheduled_at, scope_code=scope_code, created_by=created_by.strip(),
        created_at=(now or dt.datetime.now()).replace(microsecond=0), seed_commitment=digest,
        public_value_rule=rule,
    )).inserted_primary_key[0]
    return meeting_id, digest


def record_outcome(
    conn: Connection, *, draw_id: int, case_no: str, leader_report: str, comment: str | None,
    rating: str, follow_up_due: dt.date | None, recorded_by: str, now: dt.datetime | None = None,
) -> int:
    """Record the meeting's conclusion on one drawn case (append-only; latest counts),
    as the next link of the record chain."""
    if rating not in RATINGS:
        raise DrawError(f"评价应为：{'、'.join(RATINGS.values())}。")
    if not leader_report.strip():
        raise DrawError("请填写包案领导的汇报要点（已做工作、未化解原因、下一步措施）。")
    case_id = conn.execute(
        sa.select(cases.c.id)
        .join(spot_check_draw_cases, spot_check_draw_cases.c.case_id == cases.c.id)
        .where(spot_check_draw_cases.c.draw_id == draw_id, cases.c.case_no == case_no)
    ).scalar()
    if case_id is None:
        raise DrawError(f"{case_no} 不在抽查记录 #{draw_id} 中。")
    seq, previous = chain.next_link(conn)
    outcome_id = conn.execute(meeting_outcomes.insert().values(
        chain_seq=seq, draw_id=draw_id, case_id=case_id, leader_report=leader_report.strip(),
        comment=(comment or "").strip() or None, rating=rating, follow_up_due=follow_up_due,
        recorded_by=recorded_by.strip() or "督查室", recorded_at=(now or dt.datetime.now()).replace(microsecond=0),
    )).inserted_primary_key[0]
    chain.seal(conn, "outcome", outcome_id, previous)
    return outcome_id


def open_follow_up(conn: Connection, case_id: int) -> int | None:
    """The outcome whose follow-up a report answers: the case's latest outcome with a
    follow-up deadline."""
    return conn.execute(
        sa.select(meeting_outcomes.c.id).where(meeting_outcomes.c.case_id == case_id,
                                               meeting_outcomes.c.follow_up_due.is_not(None))
        .order_by(meeting_outcomes.c.id.desc()).limit(1)).scalar()


def record_follow_up(conn: Connection, *, outcome_id: int, case_id: int, progress: str, reported_by: str,
                     now: dt.datetime | None = None) -> int:
    """Progress reported on a follow-up, as the next link of the record chain."""
    seq, previous = chain.next_link(conn)
    report_id = conn.execute(follow_up_reports.insert().values(
        chain_seq=seq, outcome_id=outcome_id, case_id=case_id, progress=progress, reported_by=reported_by,
        reported_at=(now or dt.datetime.now()).replace(microsecond=0))).inserted_primary_key[0]
    chain.seal(conn, "follow_up", report_id, previous)
    return report_id
