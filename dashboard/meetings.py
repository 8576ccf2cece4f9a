"""Supervision meetings: commit-reveal seeds before the meeting, outcomes after it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.draws import DrawError, commitment, new_seed
from dashboard.models import cases, meeting_outcomes, meetings, spot_check_draw_cases

RATINGS = {"satisfactory": "满意", "needs_work": "需改进", "unsatisfactory": "不满意"}
# Taizhou draws four hours before the meeting (domain.md §1).
DRAW_LEAD_TIME = dt.timedelta(hours=4)


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
    commit_seed: bool = True, now: dt.datetime | None = None,
) -> tuple[int, str | None]:
    """A new meeting; with `commit_seed` a secret seed is generated now and only its
    SHA-256 is shown. Returns (meeting_id, commitment)."""
    if not title.strip():
        raise DrawError("请填写会议名称。")
    if not created_by.strip():
        raise DrawError("请填写组织人。")
    seed = new_seed() if commit_seed else None
    digest = commitment(seed) if seed else None
    meeting_id = conn.execute(meetings.insert().values(
        title=title.strip(), scheduled_at=scheduled_at, scope_code=scope_code, created_by=created_by.strip(),
        created_at=(now or dt.datetime.now()).replace(microsecond=0), seed_commitment=digest, secret_seed=seed,
    )).inserted_primary_key[0]
    return meeting_id, digest


def record_outcome(
    conn: Connection, *, draw_id: int, case_no: str, leader_report: str, comment: str | None,
    rating: str, follow_up_due: dt.date | None, recorded_by: str, now: dt.datetime | None = None,
) -> int:
    """Record the meeting's conclusion on one drawn case (append-only; latest counts)."""
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
    return conn.execute(meeting_outcomes.insert().values(
        draw_id=draw_id, case_id=case_id, leader_report=leader_report.strip(),
        comment=(comment or "").strip() or None, rating=rating, follow_up_due=follow_up_due,
        recorded_by=recorded_by.strip() or "督查室", recorded_at=(now or dt.datetime.now()).replace(microsecond=0),
    )).inserted_primary_key[0]
