"""SQLAlchemy 2 models. Queries use the Core tables exported at the bottom.

Enumerated values are stored as short English codes; their Chinese labels live in
`dashboard.labels`.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Region(Base):
    """City 市 → county/district 县/区 → township/street 乡镇/街道."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(10), index=True)  # city / county / township
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("regions.code"), index=True, nullable=True
    )
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    boundary: Mapped[str | None] = mapped_column(sa.Text)  # GeoJSON geometry
    population: Mapped[int | None] = mapped_column(sa.Integer)


class Unit(Base):
    """事权单位 / 责任单位: a bureau or a township government."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # bureau / county_gov / township_gov
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)


class Leader(Base):
    """包案领导: a named leader who can be in charge of cases."""

    __tablename__ = "leaders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(10))  # city / county / township
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)


class Case(Base):
    """信访事项: one petition matter with every ledger column of domain.md §7."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(sa.String(40), unique=True)  # 信访件编号
    registered_on: Mapped[dt.date] = mapped_column(sa.Date)  # 登记日期
    channel: Mapped[str] = mapped_column(sa.String(10))  # 信访形式: letter/visit/online/phone/mailbox
    petitioner_name: Mapped[str | None] = mapped_column(sa.String(50))  # 信访人 (personal)
    petitioner_phone: Mapped[str | None] = mapped_column(sa.String(30))  # 联系电话 (personal)
    petitioner_id_no: Mapped[str | None] = mapped_column(sa.String(30))  # 身份证号 (personal)
    persons: Mapped[int] = mapped_column(sa.Integer, default=1)  # 人数
    is_collective: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # 集体访 (≥5 persons)
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))  # 所属县区
    township_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))  # 所属乡镇
    domain: Mapped[str] = mapped_column(sa.String(20))  # 问题类别 (key domains)
    summary: Mapped[str | None] = mapped_column(sa.Text)  # 诉求摘要
    responsible_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))  # 责任单位
    competent_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))  # 主管部门
    track: Mapped[str] = mapped_column(sa.String(20), default="general")  # procedure track
    accepted_on: Mapped[dt.date | None] = mapped_column(sa.Date)  # 受理日期
    acceptance_due: Mapped[dt.date | None] = mapped_column(sa.Date)  # acceptance deadline
    handling_due: Mapped[dt.date | None] = mapped_column(sa.Date)  # 办理期限
    replied_on: Mapped[dt.date | None] = mapped_column(sa.Date)  # 答复日期
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date)  # 办结日期
    resolved: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # 是否化解
    resolved_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    satisfaction: Mapped[str | None] = mapped_column(sa.String(12))  # satisfied/basic/unsatisfied
    is_backlog: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # 是否积案
    backlog_source: Mapped[str | None] = mapped_column(sa.String(12))  # national/province/local
    clearance_target: Mapped[dt.date | None] = mapped_column(sa.Date)  # 化解目标日期
    leader_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leaders.id"))  # 包案领导
    escalation: Mapped[str] = mapped_column(sa.String(10), default="none")  # 越级: none/province/beijing
    is_repeat: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # 是否重复
    # Computed by dashboard.deadlines from the dates, track and county preset:
    preset: Mapped[str | None] = mapped_column(sa.String(20))  # rule preset applied
    feedback_due: Mapped[dt.date | None] = mapped_column(sa.Date)  # initial feedback (green channel)
    meeting_due: Mapped[dt.date | None] = mapped_column(sa.Date)  # meet the petitioner (double-sign)
    extension_days: Mapped[int] = mapped_column(sa.Integer, default=0)  # approved extensions
    deadline_provisional: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    __table_args__ = (
        sa.Index("ix_cases_registered_on", "registered_on"),
        sa.Index("ix_cases_county_registered", "county_code", "registered_on"),
        sa.Index("ix_cases_township_registered", "township_code", "registered_on"),
        # Acceptance and closure rates count cases accepted / closed in the period:
        # range searches per county (the city scope is an IN list of its counties).
        sa.Index("ix_cases_county_accepted", "county_code", "accepted_on"),
        sa.Index("ix_cases_county_closed", "county_code", "closed_on"),
        sa.Index("ix_cases_backlog", "is_backlog", "resolved", "county_code"),
        sa.Index("ix_cases_domain", "domain"),
        # the leader board reads its counts from this index alone (no table lookups)
        sa.Index("ix_cases_leader", "leader_id", "county_code", "is_backlog", "registered_on", "resolved_on", "id"),
        # Backlog opened / resolved in the last days of a period (the rest is in case_summaries)
        sa.Index("ix_cases_backlog_registered", "is_backlog", "registered_on"),
        sa.Index("ix_cases_backlog_resolved", "is_backlog", "resolved_on"),
    )


class Holiday(Base):
    """One day of the State Council schedule entered by an administrator: a holiday
    (rest day) or a swapped working day (调休上班). In a year the chinese-calendar
    package covers, a row corrects the package for its day only; in other years the
    rows are that year's schedule."""

    __tablename__ = "holidays"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # holiday / workday
    name: Mapped[str | None] = mapped_column(sa.String(50))


class RulePreset(Base):
    """A named set of time limits (domain.md §4). Units: calendar / working days.
    A limit left empty does not apply under that preset."""

    __tablename__ = "rule_presets"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(50))
    acceptance_days: Mapped[int] = mapped_column(sa.Integer)
    acceptance_unit: Mapped[str] = mapped_column(sa.String(10))
    handling_days: Mapped[int] = mapped_column(sa.Integer)
    handling_unit: Mapped[str] = mapped_column(sa.String(10))
    extension_max_days: Mapped[int] = mapped_column(sa.Integer, default=0)  # 0: no extension
    extension_unit: Mapped[str] = mapped_column(sa.String(10), default="calendar")
    max_extensions: Mapped[int] = mapped_column(sa.Integer, default=0)
    review_days: Mapped[int | None] = mapped_column(sa.Integer)  # 复查 / 复核
    review_unit: Mapped[str] = mapped_column(sa.String(10), default="calendar")
    feedback_days: Mapped[int | None] = mapped_column(sa.Integer)
    feedback_unit: Mapped[str] = mapped_column(sa.String(10), default="calendar")
    meeting_days: Mapped[int | None] = mapped_column(sa.Integer)
    meeting_unit: Mapped[str] = mapped_column(sa.String(10), default="working")
    note: Mapped[str | None] = mapped_column(sa.Text)
    updated_by: Mapped[str | None] = mapped_column(sa.String(50))  # last edit of a limit
    updated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


class RuleAssignment(Base):
    """Which preset a region (county, or the city as default) uses, for all tracks
    (track '*') or one track, from a date on. A case follows the assignment in force on
    its registration date; the rows are the history of the region's choices."""

    __tablename__ = "rule_assignments"

    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)
    track: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # '*' or a track
    effective_from: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    preset: Mapped[str] = mapped_column(sa.ForeignKey("rule_presets.name"))
    recorded_by: Mapped[str | None] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


class ColorRuleRow(Base):
    """Three-color thresholds of a region (a county, or the city default)."""

    __tablename__ = "color_rules"

    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)
    yellow_days_left: Mapped[int] = mapped_column(sa.Integer)
    yellow_used_share: Mapped[float] = mapped_column(sa.Float)
    red_past_deadline: Mapped[bool] = mapped_column(sa.Boolean)
    red_backlog_past_target: Mapped[bool] = mapped_column(sa.Boolean)
    updated_by: Mapped[str | None] = mapped_column(sa.String(50))
    updated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


class CaseExtension(Base):
    """An approved extension of a case's handling deadline (延期), append-only."""

    __tablename__ = "case_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    days: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.Text)
    approver: Mapped[str] = mapped_column(sa.String(50))
    approved_on: Mapped[dt.date] = mapped_column(sa.Date)


class Reminder(Base):
    """A 115 reminder (or a daily overdue escalation) recorded on a day. `handling_due`
    is the deadline it is about: the handling deadline for the 115 levels, and for an
    overdue escalation the case's current deadline (of the stage in `stage`)."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    level: Mapped[str] = mapped_column(sa.String(10))  # officer / deputy / head / overdue
    handling_due: Mapped[dt.date] = mapped_column(sa.Date)
    stage: Mapped[str | None] = mapped_column(sa.String(12))  # acceptance / handling / clearance
    reminded_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    days_left: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.UniqueConstraint("case_id", "level", "handling_due", "reminded_on", name="uq_reminder"),
    )


class Attachment(Base):
    """A file kept with a case (photo, audio, video, document); the bytes live in the
    attachments folder under `stored_name`."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(10))  # photo / audio / video / document
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    stored_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    uploaded_by: Mapped[str] = mapped_column(sa.String(50))
    uploaded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class CaseUnit(Base):
    """一事双交: a case handed to its territory and to the competent department."""

    __tablename__ = "case_units"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(12), primary_key=True)  # territory / competent
    part: Mapped[str | None] = mapped_column(sa.Text)  # 一事双交: what this unit is to do (its part)


class CaseEvent(Base):
    """One timestamped step in a case's chain (dispatched → … → evaluated)."""

    __tablename__ = "case_events"
    # by case and time: a case's last step is one index seek (leader board)
    __table_args__ = (sa.Index("ix_case_events_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    actor: Mapped[str | None] = mapped_column(sa.String(100))
    note: Mapped[str | None] = mapped_column(sa.Text)


class Meeting(Base):
    """A supervision meeting (督查会 / 视频抽查会) whose cases are drawn at random.

    Commit-reveal without a stored secret (`dashboard.draws`): when the meeting is made,
    a secret of 128 random bits (the 种子口令) is shown once to the officer who made it
    and only its SHA-256 (`seed_commitment`) is stored and published with the notice.
    At the draw the officer enters the secret, which must match the commitment; when
    `public_value_rule` names a value to be announced at the meeting (a lottery result,
    dice thrown in the room), the seed is "<secret>+<value>". Its k-th redraw uses
    "<seed>/重抽<k>". `revealed_at`: when the secret was first used."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    scheduled_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    scope_code: Mapped[str] = mapped_column(sa.String(12), index=True)
    created_by: Mapped[str] = mapped_column(sa.String(50))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    seed_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    public_value_rule: Mapped[str | None] = mapped_column(sa.String(100))
    revealed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


class SpotCheckDraw(Base):
    """An append-only record of one spot-check draw (随机抽查). A redraw is a new
    record naming the draw it replaces (the current one of its chain) and why.
    `chain_seq` is its place in the record chain of draws, meeting outcomes and
    follow-up reports (`dashboard.chain`); `record_digest` covers every field, its
    drawn and candidate rows (ids and numbers) and its meeting, and chains it to the
    record before it, so editing a stored draw is detectable."""

    __tablename__ = "spot_check_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_seq: Mapped[int | None] = mapped_column(sa.Integer, unique=True, index=True)
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    replaces_draw_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spot_check_draws.id"))
    redraw_reason: Mapped[str | None] = mapped_column(sa.Text)
    record_digest: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    created_by: Mapped[str] = mapped_column(sa.String(50))
    scope_code: Mapped[str] = mapped_column(sa.String(12), index=True)  # caller's region
    meeting: Mapped[str | None] = mapped_column(sa.String(100))
    method: Mapped[str] = mapped_column(sa.String(20))
    params: Mapped[str] = mapped_column(sa.Text)  # JSON of the filters and options
    seed: Mapped[str] = mapped_column(sa.String(64))
    n_requested: Mapped[int] = mapped_column(sa.Integer)
    candidate_count: Mapped[int] = mapped_column(sa.Integer)
    candidate_fingerprint: Mapped[str] = mapped_column(sa.String(64))  # SHA-256
    algorithm_version: Mapped[str] = mapped_column(sa.String(20))


class SpotCheckCandidate(Base):
    """The candidate list a draw was made from, so the draw can be re-checked."""

    __tablename__ = "spot_check_candidates"

    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("spot_check_draws.id"), primary_key=True)
    case_no: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    county_code: Mapped[str] = mapped_column(sa.String(12))
    weight: Mapped[float] = mapped_column(sa.Float, default=1.0)


class SpotCheckDrawCase(Base):
    """The drawn cases of a draw, in draw order."""

    __tablename__ = "spot_check_draw_cases"

    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("spot_check_draws.id"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    case_no: Mapped[str] = mapped_column(sa.String(40))


class MeetingOutcome(Base):
    """What the meeting concluded on one drawn case: the leader's report, the comment,
    a rating and a follow-up deadline (督查会后跟进). Append-only; the latest counts.
    Chained like the draws (`chain_seq`, `record_digest`: `dashboard.chain`)."""

    __tablename__ = "meeting_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_seq: Mapped[int | None] = mapped_column(sa.Integer, unique=True, index=True)
    record_digest: Mapped[str | None] = mapped_column(sa.String(64))
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("spot_check_draws.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    leader_report: Mapped[str] = mapped_column(sa.Text)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    rating: Mapped[str] = mapped_column(sa.String(20))  # satisfactory / needs_work / unsatisfactory
    follow_up_due: Mapped[dt.date | None] = mapped_column(sa.Date)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class User(Base):
    """A person who signs in. The password is stored as an argon2id hash only; five
    failed sign-ins lock the account for 15 minutes (`dashboard.auth`)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)  # sign-in name
    display_name: Mapped[str | None] = mapped_column(sa.String(50))
    role: Mapped[str] = mapped_column(sa.String(12))  # city/county/township/supervision/bureau/admin
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    last_signin_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


class AuditRecord(Base):
    """One append-only audit record: who did what, when, on which target, in which
    scope, with what outcome. `digest` chains each record to the one before it
    (`dashboard.audit`), so an edited or removed record is detected by verify-audit."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime, index=True)
    user_name: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(12))
    action: Mapped[str] = mapped_column(sa.String(30), index=True)
    target: Mapped[str | None] = mapped_column(sa.String(200))
    scope_code: Mapped[str | None] = mapped_column(sa.String(12))
    outcome: Mapped[str] = mapped_column(sa.String(10))  # ok / denied / failed
    detail: Mapped[str | None] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.String(10))  # web / cli
    digest: Mapped[str] = mapped_column(sa.String(64))


class FollowUpReport(Base):
    """Progress reported on a supervision meeting's follow-up (督查会后跟进) of a case:
    the township or the supervision office writes what was done since. Append-only;
    chained like the draws (`chain_seq`, `record_digest`: `dashboard.chain`)."""

    __tablename__ = "follow_up_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_seq: Mapped[int | None] = mapped_column(sa.Integer, unique=True, index=True)
    record_digest: Mapped[str | None] = mapped_column(sa.String(64))
    outcome_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_outcomes.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    progress: Mapped[str] = mapped_column(sa.Text)
    reported_by: Mapped[str] = mapped_column(sa.String(50))
    reported_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


# ---------------------------------------------------------------- the accountability loop (issue 15)
# Records about officials and units: who took a case, what they did, who was held to
# account. Nothing here lists, rates or tracks petitioners.


class CasePlan(Base):
    """四定四包 of a backlog case: 定领导 (leader), 定措施 (measures: a plan with one step a
    line), 定时间 (target date), 定责任 (responsible person and unit). One per case; the
    latest recording counts (each one is in the audit trail)."""

    __tablename__ = "case_plans"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    leader_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leaders.id"), index=True)
    measures: Mapped[str | None] = mapped_column(sa.Text)
    target_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    responsible_person: Mapped[str | None] = mapped_column(sa.String(50))  # an official, by post
    responsible_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class CaseStep(Base):
    """One step of the leader's 2453 checklist on a case (两见面、四听取、五确定、三督办:
    steps meet1–2, hear1–4, settle1–5, supervise1–3), with its date and a note."""

    __tablename__ = "case_steps"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    step: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    done_on: Mapped[dt.date] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class Clearance(Base):
    """销号 of a backlog case (kind cleared: resolved, 回访 done, approved) or its reopening
    (kind reopened: 再次督办). Append-only; the latest row is the case's state."""

    __tablename__ = "clearances"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # cleared / reopened
    decided_on: Mapped[dt.date] = mapped_column(sa.Date)
    approved_by: Mapped[str] = mapped_column(sa.String(50))  # approving official (by name and post)
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class Reception(Base):
    """A leader's reception day (领导接访): scheduled, and held or not."""

    __tablename__ = "receptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(sa.ForeignKey("leaders.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    held_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)  # the day scheduled
    place: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(10))  # city / county / township
    form: Mapped[str] = mapped_column(sa.String(12))  # receive / appointment / down / walk
    held: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    persons: Mapped[int] = mapped_column(sa.Integer, default=0)  # 人次 received (a count only)
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class ReceptionCase(Base):
    """A case taken into 包案 from a reception day."""

    __tablename__ = "reception_cases"

    reception_id: Mapped[int] = mapped_column(sa.ForeignKey("receptions.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)


class Instruction(Base):
    """A matter in a principal leader's 五个必批 queue: received, then instructed on
    (阅批) with a text and a date."""

    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(sa.ForeignKey("leaders.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    category: Mapped[str] = mapped_column(sa.String(12))  # the five 必批 kinds
    item: Mapped[str] = mapped_column(sa.String(200))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    received_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    instructed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    instruction: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class Referral(Base):
    """纪委+信访: a case moved to the discipline commission as 典型案例 or 一般事项, its
    findings and outcome, and 对账销号 once fed back and verified."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # typical / general
    quarter: Mapped[str] = mapped_column(sa.String(7))  # 2026Q2
    referred_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    approved_by_leader_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leaders.id"))
    receiving_body: Mapped[str] = mapped_column(sa.String(100))
    finding: Mapped[str | None] = mapped_column(sa.String(12))  # shirking / inaction / misconduct / none
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    feedback_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date)  # 对账销号
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class Trace(Base):
    """信访责任溯源: an investigation of a case's cause and the unit responsible."""

    __tablename__ = "traces"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    traced_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    cause: Mapped[str] = mapped_column(sa.Text)
    responsible_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class AccountabilityRecord(Base):
    """问责 or 约谈 of an official (a public-office holder, named with post and unit)."""

    __tablename__ = "accountability_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    official_name: Mapped[str] = mapped_column(sa.String(50))
    post: Mapped[str] = mapped_column(sa.String(100))
    unit_name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(10))  # city / county / township
    decided_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    form: Mapped[str] = mapped_column(sa.String(14))  # interview (约谈) or a 问责 form
    reason: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class Revisit(Base):
    """回访 of a closed case: date, way, result, and how satisfied the petitioner says
    they are with the petition bureau and with the competent authority (ratings of
    the bodies, not of the petitioner)."""

    __tablename__ = "revisits"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    revisited_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    way: Mapped[str] = mapped_column(sa.String(10))  # phone / visit / letter / online
    result: Mapped[str | None] = mapped_column(sa.Text)
    satisfaction_bureau: Mapped[str | None] = mapped_column(sa.String(12))
    satisfaction_authority: Mapped[str | None] = mapped_column(sa.String(12))
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


regions = Region.__table__
units = Unit.__table__
leaders = Leader.__table__
cases = Case.__table__
case_units = CaseUnit.__table__
case_events = CaseEvent.__table__
spot_check_draws = SpotCheckDraw.__table__
spot_check_candidates = SpotCheckCandidate.__table__
spot_check_draw_cases = SpotCheckDrawCase.__table__
meetings = Meeting.__table__
attachments = Attachment.__table__
meeting_outcomes = MeetingOutcome.__table__
holidays = Holiday.__table__
rule_presets = RulePreset.__table__
rule_assignments = RuleAssignment.__table__
color_rules = ColorRuleRow.__table__
case_extensions = CaseExtension.__table__
reminders = Reminder.__table__
users = User.__table__
audit_log = AuditRecord.__table__
follow_up_reports = FollowUpReport.__table__
case_plans = CasePlan.__table__
case_steps = CaseStep.__table__
clearances = Clearance.__table__
receptions = Reception.__table__
reception_cases = ReceptionCase.__table__
instructions = Instruction.__table__
referrals = Referral.__table__
traces = Trace.__table__
accountability_records = AccountabilityRecord.__table__
revisits = Revisit.__table__


# ------------------------------------------------------------------ early warnings (一单三推)


class EarlyWarning(Base):
    """One early warning (一单): a significant rise of cases in a township × domain (or
    of its collective or escalated visits) over a 7- or 30-day window on the day it was
    raised (`dashboard.warnings_rule`). About a place and an issue, never a person.
    Status: raised → acknowledged → acting → closed."""

    __tablename__ = "early_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    raised_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)  # township
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(20))  # a domain code, collective_visit or escalated
    window_days: Mapped[int] = mapped_column(sa.Integer)
    observed: Mapped[int] = mapped_column(sa.Integer)
    baseline: Mapped[int] = mapped_column(sa.Integer)
    expected: Mapped[float] = mapped_column(sa.Float)
    p_value: Mapped[float] = mapped_column(sa.Float)
    level: Mapped[float] = mapped_column(sa.Float)  # α / m the p-value was compared with
    sensitive: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="raised")
    raised_by: Mapped[str] = mapped_column(sa.String(50))
    raised_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)

    __table_args__ = (
        sa.UniqueConstraint("raised_on", "region_code", "domain", "window_days", name="uq_early_warning"),
    )


class WarningDelivery(Base):
    """One of the three pushes (三推) of a warning: the city's leaders, the township's
    party committee and government, the competent unit. `region_code`: whose users
    receive it (the city, the township, the unit's region)."""

    __tablename__ = "warning_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(sa.ForeignKey("early_warnings.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(12))  # city / territory / competent
    recipient_name: Mapped[str] = mapped_column(sa.String(100))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    delivered_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(50))
    acted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    acted_by: Mapped[str | None] = mapped_column(sa.String(50))
    action_note: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.UniqueConstraint("warning_id", "recipient", name="uq_warning_delivery"),)


class WarningEvent(Base):
    """The status history of a warning (append-only): raised, acknowledged, acted, closed."""

    __tablename__ = "warning_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(sa.ForeignKey("early_warnings.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warning_deliveries.id"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime)
    actor: Mapped[str] = mapped_column(sa.String(50))
    note: Mapped[str | None] = mapped_column(sa.Text)


class SensitivePeriod(Base):
    """A sensitive period (重大敏感时期) entered by the bureau or an administrator: the
    warning thresholds are lower on its days (both ends included)."""

    __tablename__ = "sensitive_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    starts_on: Mapped[dt.date] = mapped_column(sa.Date)
    ends_on: Mapped[dt.date] = mapped_column(sa.Date)
    created_by: Mapped[str] = mapped_column(sa.String(50))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


class BacklogTarget(Base):
    """The date by which a county (or the city) is to clear its backlog (积案清零目标)."""

    __tablename__ = "backlog_targets"

    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)
    target_date: Mapped[dt.date] = mapped_column(sa.Date)
    set_by: Mapped[str] = mapped_column(sa.String(50))
    set_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)


early_warnings = EarlyWarning.__table__
warning_deliveries = WarningDelivery.__table__
warning_events = WarningEvent.__table__
sensitive_periods = SensitivePeriod.__table__
backlog_targets = BacklogTarget.__table__


# --- Summaries (issue 13): counts kept in step with the cases by dashboard.summaries ---


class CaseSummary(Base):
    """Pre-aggregated counts of the cases by month × county × township × domain × channel,
    with rollup rows over every domain and/or every channel ('*').

    Each case adds to the row of the month of each of its dates: the received figures in
    its registration month, acceptance figures in its acceptance month, closure figures
    in its closing month, backlog resolution in its resolution month. Kept in step by
    every write (dashboard.summaries); `python -m dashboard refresh` rebuilds it."""

    __tablename__ = "case_summaries"

    month: Mapped[int] = mapped_column(sa.Integer)  # yyyymm
    county_code: Mapped[str] = mapped_column(sa.String(12))
    township_code: Mapped[str] = mapped_column(sa.String(12))  # '' when none
    domain: Mapped[str] = mapped_column(sa.String(20))  # '*': every domain (rollup row)
    channel: Mapped[str] = mapped_column(sa.String(10))  # '*': every channel (rollup row)
    received: Mapped[int] = mapped_column(sa.Integer, default=0)
    online: Mapped[int] = mapped_column(sa.Integer, default=0)
    collective_batches: Mapped[int] = mapped_column(sa.Integer, default=0)
    collective_persons: Mapped[int] = mapped_column(sa.Integer, default=0)
    province_batches: Mapped[int] = mapped_column(sa.Integer, default=0)
    province_persons: Mapped[int] = mapped_column(sa.Integer, default=0)
    beijing_batches: Mapped[int] = mapped_column(sa.Integer, default=0)
    beijing_persons: Mapped[int] = mapped_column(sa.Integer, default=0)
    accepted: Mapped[int] = mapped_column(sa.Integer, default=0)
    timely: Mapped[int] = mapped_column(sa.Integer, default=0)
    closed: Mapped[int] = mapped_column(sa.Integer, default=0)
    on_time: Mapped[int] = mapped_column(sa.Integer, default=0)
    evaluated: Mapped[int] = mapped_column(sa.Integer, default=0)
    satisfied: Mapped[int] = mapped_column(sa.Integer, default=0)
    backlog_registered: Mapped[int] = mapped_column(sa.Integer, default=0)
    backlog_resolved: Mapped[int] = mapped_column(sa.Integer, default=0)

    # Domain and channel first: the rollup rows a page reads lie together, by month.
    __table_args__ = (sa.PrimaryKeyConstraint("domain", "channel", "month", "county_code", "township_code"),)


class CaseColor(Base):
    """The three-color status of every case carrying a color on `summary_state.colors`
    (stage, current deadline, days left, color), computed by dashboard.rules.assign_colors
    and stored so that counts per county or township are one grouped query."""

    __tablename__ = "case_colors"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    county_code: Mapped[str] = mapped_column(sa.String(12))
    township_code: Mapped[str | None] = mapped_column(sa.String(12))
    domain: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(10))
    registered_on: Mapped[dt.date] = mapped_column(sa.Date)
    is_backlog: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    leader_id: Mapped[int | None] = mapped_column(sa.Integer)
    stage: Mapped[str | None] = mapped_column(sa.String(12))
    deadline: Mapped[dt.date | None] = mapped_column(sa.Date)
    days_left: Mapped[int | None] = mapped_column(sa.Integer)
    color: Mapped[str] = mapped_column(sa.String(6))

    __table_args__ = (
        sa.Index("ix_case_colors_county", "county_code", "color"),
        sa.Index("ix_case_colors_township", "township_code", "color"),
    )


class SummaryState(Base):
    """When each summary was last built: `colors` holds the date its colors are for."""

    __tablename__ = "summary_state"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    as_of: Mapped[dt.date | None] = mapped_column(sa.Date)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


case_summaries = CaseSummary.__table__
case_colors = CaseColor.__table__
summary_state = SummaryState.__table__
