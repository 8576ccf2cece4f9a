"""The actions layer: one function per write, called by the pages and the command line.

Each action (1) checks the actor's role (`dashboard.permissions`) and that every
target lies in the actor's scope (`dashboard.scope`); a refusal raises `Refused`
after a `denied` audit record has been committed on its own; (2) writes in one
transaction together with its `ok` audit record, so both or neither are stored; and
(3) names the cached page data it makes stale in its `invalidates` attribute (subjects:
cases, rules, draws, meetings, reminders, regions, users), which the pages use to drop
exactly those cached queries.

Bad input raises the module's own error (DrawError, RuleError, LedgerError …) with a
Chinese message; nothing is written then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import attachments, audit, auth, deadlines, draws, meetings, reminders, rules
from dashboard.models import cases, follow_up_reports, meeting_outcomes, regions, spot_check_draws
from dashboard.models import meetings as meeting_table
from dashboard.permissions import Actor, Refused, allowed, refusal_message, scope_message
from dashboard.scope import region_in_scope, scope_condition


class ActionError(ValueError):
    """Bad input to an action; the message says what is wrong and what to do."""


def action(*invalidates: str) -> Callable:
    """Mark a function as an action and say which cached subjects it makes stale."""
    def mark(fn):
        fn.invalidates = frozenset(invalidates)
        return fn
    return mark


# ------------------------------------------------------------------ checks


def require(engine: Engine, actor: Actor, permission: str, *, action_name: str | None = None,
            target: str | None = None) -> None:
    """Refuse (and audit the refusal) unless the actor's role has the permission."""
    if not allowed(actor, permission):
        audit.record(engine, actor, action_name or permission, target=target, outcome="denied",
                     detail=f"角色无此权限：{permission}")
        raise Refused(refusal_message(actor, permission))


def require_region(engine: Engine, actor: Actor, region_code: str | None, *, action_name: str,
                   target: str | None = None) -> None:
    """Refuse (and audit) a region outside the actor's scope. An unknown code is bad
    input (ActionError), not a refusal."""
    with engine.connect() as conn:
        known = region_code is not None and conn.execute(
            sa.select(sa.func.count()).select_from(regions).where(regions.c.code == region_code)).scalar_one() > 0
        inside = known and actor.scope is not None and region_in_scope(conn, actor.scope, region_code)
    if not known:
        raise ActionError(f"区划代码 {region_code} 不存在，请检查代码（县区 6 位，乡镇 9 位）。")
    if not inside:
        audit.record(engine, actor, action_name, target=target or region_code, outcome="denied",
                     detail="区划不在查看范围内")
        raise Refused(scope_message(actor))


def require_case(engine: Engine, actor: Actor, case_no: str, *, action_name: str) -> int:
    """The id of a case in the actor's scope. An unknown number is bad input
    (ActionError); a case outside the scope is refused and audited."""
    case_no = (case_no or "").strip()
    with engine.connect() as conn:
        row = conn.execute(sa.select(cases.c.id).where(cases.c.case_no == case_no)).first()
        inside = row is not None and actor.scope is not None and conn.execute(
            sa.select(sa.func.count()).select_from(cases).where(cases.c.id == row.id, scope_condition(actor.scope))
        ).scalar_one() > 0
    if row is None:
        raise ActionError(f"信访件编号 {case_no} 不存在，请核对编号。")
    if not inside:
        audit.record(engine, actor, action_name, target=case_no, outcome="denied", detail="案件不在查看范围内")
        raise Refused(f"无权限：信访件 {case_no} 不在您的查看范围（{actor.scope.name if actor.scope else '无'}）内，"
                      "未显示任何数据。")
    return int(row.id)


def require_draw(engine: Engine, actor: Actor, draw_id: int, *, action_name: str) -> None:
    with engine.connect() as conn:
        scope_code = conn.execute(
            sa.select(spot_check_draws.c.scope_code).where(spot_check_draws.c.id == draw_id)).scalar()
    if scope_code is None:
        raise ActionError(f"抽查记录 #{draw_id} 不存在。")
    require_region(engine, actor, scope_code, action_name=action_name, target=f"抽查记录 #{draw_id}")


# ------------------------------------------------------------------ reading that is audited


def record_view(engine: Engine, actor: Actor, action_name: str, target: str | None = None,
                detail: str | None = None) -> None:
    """Audit a read: a case view, an export, a command-line query."""
    audit.record(engine, actor, action_name, target=target, detail=detail)


def view_case(engine: Engine, actor: Actor, case_no: str) -> int:
    """Check that the actor may open a case (role and scope) and audit the view."""
    require(engine, actor, "view", action_name="view_case", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="view_case")
    audit.record(engine, actor, "view_case", target=case_no)
    return case_id


def export(engine: Engine, actor: Actor, what: str, detail: str | None = None, *, permission: str = "export") -> None:
    """Audit a download (called when the file is built, i.e. when it is asked for).
    `permission` is the one the shown table needs: "export" for case data, "users" or
    "audit" for the user list and the audit log (the administrator's downloads)."""
    if permission not in ("export", "users", "audit"):
        raise ValueError(permission)
    require(engine, actor, permission, action_name="export", target=what)
    audit.record(engine, actor, "export", target=what, detail=detail)


@action()
def reveal(engine: Engine, actor: Actor, case_no: str, reason: str) -> dict:
    """The unmasked personal data of one case, for this view only; the reason is kept
    in the audit record."""
    require(engine, actor, "reveal", action_name="reveal", target=case_no)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ActionError("请写明查看完整个人信息的理由（至少 4 个字），例如：需电话联系信访人告知办理结果。")
    case_id = require_case(engine, actor, case_no, action_name="reveal")
    with engine.begin() as conn:
        row = conn.execute(sa.select(cases.c.petitioner_name, cases.c.petitioner_phone, cases.c.petitioner_id_no)
                           .where(cases.c.id == case_id)).mappings().one()
        audit.append(conn, actor, "reveal", target=case_no, detail=f"理由：{reason[:500]}")
    return dict(row)


# ------------------------------------------------------------------ spot checks and meetings


@dataclass(frozen=True)
class MeetingCreated:
    meeting_id: int
    commitment: str  # SHA-256 of the secret: stored, published with the notice
    secret: str  # the 种子口令: shown once to the officer who made the meeting, never stored
    public_value_rule: str | None


@action("meetings")
def create_meeting(engine: Engine, actor: Actor, *, title: str, scheduled_at: dt.datetime,
                   region_code: str | None = None, public_value_rule: str | None = None) -> MeetingCreated:
    """A meeting committed to a fresh secret. The secret is returned to be shown once to
    the actor, who keeps it and enters it at the draw; only its commitment is stored
    (and written into the audit record)."""
    require(engine, actor, "meeting", action_name="meeting", target=title)
    region_code = region_code or actor.scope.region_code
    require_region(engine, actor, region_code, action_name="meeting", target=title)
    secret = draws.new_seed()
    with engine.begin() as conn:
        meeting_id, digest = meetings.create_meeting(
            conn, title=title, scheduled_at=scheduled_at, scope_code=region_code, created_by=actor.label,
            secret=secret, public_value_rule=public_value_rule)
        rule = conn.execute(sa.select(meeting_table.c.public_value_rule)
                            .where(meeting_table.c.id == meeting_id)).scalar()
        audit.append(conn, actor, "meeting", target=f"督查会 #{meeting_id}",
                     detail=f"{title.strip()}，{scheduled_at:%Y-%m-%d %H:%M}；承诺值 {digest}"
                     + (f"；会上公布的公开值：{rule}" if rule else ""))
    return MeetingCreated(meeting_id, digest, secret, rule)


@dataclass(frozen=True)
class DrawOutcome:
    draw_id: int
    seed: str
    drawn: list[draws.Candidate]
    candidate_count: int
    notes: list[str]  # shortages, in Chinese


@action("draws", "meetings")
def draw(engine: Engine, actor: Actor, pool: pd.DataFrame, *, spec: draws.DrawSpec, region_code: str,
         meeting_id: int | None = None, secret: str | None = None, public_value: str | None = None,
         replaces_draw_id: int | None = None, redraw_reason: str | None = None,
         params: dict | None = None) -> DrawOutcome:
    """Draw from a candidate pool (`queries.spot_check.candidate_frame` in the actor's
    scope) and store the draw: the one draw workflow of the page and the command line.
    A meeting's draw takes the secret shown when the meeting was made (and the value
    announced at the meeting, when it named one); any other draw has a generated seed:
    nobody types a seed. A secret that does not match the commitment is audited."""
    require(engine, actor, "draw", action_name="draw")
    require_region(engine, actor, region_code, action_name="draw")
    candidates = draws.candidates_from_frame(pool, spec.weight_by)
    with engine.connect() as conn:
        outside = [c for c in {c.county_code for c in candidates}
                   if not region_in_scope(conn, actor.scope, c)]
    if outside:
        audit.record(engine, actor, "draw", outcome="denied", detail="候选案件不在查看范围内")
        raise Refused(scope_message(actor))
    try:
        with engine.begin() as conn:
            draw_id, used_seed, drawn = draws.record_draw(
                conn, candidates, spec.n, spec=spec, created_by=actor.label, scope_code=region_code,
                meeting_id=meeting_id, secret=secret, public_value=public_value,
                replaces_draw_id=replaces_draw_id, redraw_reason=redraw_reason, params=params)
            audit.append(conn, actor, "draw", target=f"抽查记录 #{draw_id}",
                         detail=f"候选 {len(candidates)} 件，抽中 {len(drawn)} 件"
                         + (f"，督查会 #{meeting_id}" if meeting_id else "")
                         + (f"，替换 #{replaces_draw_id}" if replaces_draw_id else "")
                         + f"；{_chain_note(conn, spot_check_draws, draw_id)}")
    except draws.SecretMismatch:
        audit.record(engine, actor, "draw", target=f"督查会 #{meeting_id}" if meeting_id else None,
                     outcome="failed", detail="种子口令与承诺值不符，未抽取")
        raise
    notes = draws.draw_notes(candidates, spec, used_seed, draws.county_names_of(pool))
    return DrawOutcome(draw_id, used_seed, drawn, len(candidates), notes)


@action("meetings", "draws")
def record_outcome(engine: Engine, actor: Actor, *, draw_id: int, case_no: str, leader_report: str,
                   comment: str | None, rating: str, follow_up_due: dt.date | None) -> int:
    require(engine, actor, "outcome", action_name="outcome", target=f"抽查记录 #{draw_id}")
    require_draw(engine, actor, draw_id, action_name="outcome")
    require_case(engine, actor, case_no, action_name="outcome")
    with engine.begin() as conn:
        outcome_id = meetings.record_outcome(
            conn, draw_id=draw_id, case_no=case_no, leader_report=leader_report, comment=comment,
            rating=rating, follow_up_due=follow_up_due, recorded_by=actor.label)
        audit.append(conn, actor, "outcome", target=case_no,
                     detail=f"抽查记录 #{draw_id}，评价 {rating}；{_chain_note(conn, meeting_outcomes, outcome_id)}")
    return outcome_id


@action("meetings")
def report_follow_up(engine: Engine, actor: Actor, case_no: str, progress: str) -> int:
    """Progress on the open follow-up of a case (the latest meeting outcome with a
    follow-up deadline)."""
    require(engine, actor, "follow_up", action_name="follow_up", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="follow_up")
    progress = (progress or "").strip()
    if not progress:
        raise ActionError("请填写跟进情况（已做工作、进展、下一步）。")
    if len(progress) > 2000:
        raise ActionError(f"跟进情况最多 2000 字，现为 {len(progress)} 字，请精简。")
    with engine.begin() as conn:
        outcome_id = meetings.open_follow_up(conn, case_id)
        if outcome_id is None:
            raise ActionError(f"信访件 {case_no} 没有督查会布置的跟进事项，无需填报。")
        report_id = meetings.record_follow_up(conn, outcome_id=outcome_id, case_id=case_id, progress=progress,
                                              reported_by=actor.label, now=audit.now())
        audit.append(conn, actor, "follow_up", target=case_no,
                     detail=f"会后记录 #{outcome_id}；{_chain_note(conn, follow_up_reports, report_id)}")
    return report_id


def _chain_note(conn, table, record_id: int) -> str:
    """Where a record went in the record chain, for its audit record."""
    row = conn.execute(sa.select(table.c.chain_seq, table.c.record_digest).where(table.c.id == record_id)).one()
    return f"存证链第 {row.chain_seq} 条，摘要 {row.record_digest}"


# ------------------------------------------------------------------ reminders and deadlines


@action("reminders")
def record_reminders(engine: Engine, actor: Actor, queue: pd.DataFrame, on: dt.date, today: dt.date) -> int:
    """Record the day's reminders of `queue` (queries.reminders.reminder_queue in the
    actor's scope). A future day is only previewed, never recorded."""
    require(engine, actor, "remind", action_name="remind", target=f"{on:%Y-%m-%d}")
    if on > today:
        raise ActionError(f"{on:%Y-%m-%d} 还没到，催办只能在当天登记；未来日期只可预览。")
    ids = [int(i) for i in queue["case_id"]] if not queue.empty else []
    if ids:
        with engine.connect() as conn:
            inside = conn.execute(sa.select(sa.func.count()).select_from(cases)
                                  .where(cases.c.id.in_(ids), scope_condition(actor.scope))).scalar_one()
        if inside != len(set(ids)):
            audit.record(engine, actor, "remind", outcome="denied", detail="催办案件不在查看范围内")
            raise Refused(scope_message(actor))
    with engine.begin() as conn:
        new = reminders.record(conn, queue, on)
        audit.append(conn, actor, "remind", target=f"{on:%Y-%m-%d}", detail=f"新登记 {new} 件")
    return new


@action("cases", "rules")
def extend_deadline(engine: Engine, actor: Actor, case_no: str, days: int, *, reason: str,
                    approver: str | None, on: dt.date) -> dt.date:
    require(engine, actor, "extend", action_name="extend", target=case_no)
    require_case(engine, actor, case_no, action_name="extend")
    with engine.begin() as conn:
        due = deadlines.extend(conn, case_no, days, reason=reason, approver=approver or actor.label, on=on)
        audit.append(conn, actor, "extend", target=case_no, detail=f"延期 {days} 日至 {due:%Y-%m-%d}")
    return due


@action("cases", "rules")
def assign_rule(engine: Engine, actor: Actor, region_code: str, preset: str, track: str | None, *,
                effective_from: dt.date) -> int:
    require(engine, actor, "settings", action_name="rule_assign", target=region_code)
    require_region(engine, actor, region_code, action_name="rule_assign")
    with engine.begin() as conn:
        changed = deadlines.assign_preset(conn, region_code, preset, track, effective_from=effective_from,
                                          by=actor.label)
        audit.append(conn, actor, "rule_assign", target=region_code,
                     detail=f"{preset}，程序 {track or '全部'}，自 {effective_from:%Y-%m-%d}；重算 {changed} 件")
    return changed


@action("cases", "rules")
def edit_preset(engine: Engine, actor: Actor, name: str, limit: str, *, days: int | None,
                unit: str | None) -> int:
    require(engine, actor, "settings", action_name="rule_edit", target=name)
    with engine.begin() as conn:
        changed = deadlines.edit_preset(conn, name, limit, days=days, unit=unit, by=actor.label)
        audit.append(conn, actor, "rule_edit", target=name,
                     detail=f"{limit}：{days if days is not None else '—'} {unit or ''}；重算 {changed} 件")
    return changed


@action("cases", "rules")
def save_color_rule(engine: Engine, actor: Actor, region_code: str, rule: rules.ColorRule | None) -> None:
    require(engine, actor, "settings", action_name="color_rule", target=region_code)
    require_region(engine, actor, region_code, action_name="color_rule")
    with engine.begin() as conn:
        rules.save_rule(conn, region_code, rule, by=actor.label)
        audit.append(conn, actor, "color_rule", target=region_code,
                     detail="沿用全市默认" if rule is None else str(rule))


@action("cases", "rules")
def import_calendar(engine: Engine, actor: Actor, rows) -> tuple[list, int]:
    require(engine, actor, "calendar", action_name="calendar")
    with engine.begin() as conn:
        plans, changed = deadlines.import_schedule(conn, rows)
        audit.append(conn, actor, "calendar", target=f"{len(rows)} 天",
                     detail="；".join(plan.describe() for plan in plans)[:1000] + f"；重算 {changed} 件")
    return plans, changed


# ------------------------------------------------------------------ imports and attachments


@action("cases", "regions", "rules")
def import_ledger(engine: Engine, actor: Actor, rows: list[list], *, file_name: str, dry_run: bool = False,
                  **options):
    """Import a ledger's rows (`dashboard.ledger.import_ledger` options)."""
    from dashboard.ledger import import_ledger as run_import

    require(engine, actor, "import", action_name="import", target=file_name)
    with engine.begin() as conn:
        result = run_import(conn, rows, dry_run=dry_run, actor=actor.label, **options)
        audit.append(conn, actor, "import", target=file_name,
                     detail=("试运行：" if dry_run else "")
                     + f"{result.rows} 行，新增 {result.new}，更新 {result.updated}，未变 {result.unchanged}，"
                     f"拒绝 {result.rejected_count}")
    return result


@action("regions", "cases")
def import_regions(engine: Engine, actor: Actor, data: bytes, file_name: str) -> tuple[dict, str]:
    from dashboard.region_import import import_regions_file

    require(engine, actor, "import", action_name="import_regions", target=file_name)
    with engine.begin() as conn:
        summary, text = import_regions_file(conn, data, file_name)
        audit.append(conn, actor, "import_regions", target=file_name, detail=text[:1000])
    return summary, text


@action("cases")
def save_attachment(engine: Engine, actor: Actor, case_no: str, filename: str, data: bytes) -> int:
    require(engine, actor, "attach", action_name="attach", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="attach")
    with engine.begin() as conn:
        attachment_id = attachments.save(conn, case_id, filename, data, uploaded_by=actor.label)
        audit.append(conn, actor, "attach", target=case_no, detail=f"{len(data)} 字节")
    return attachment_id


# ------------------------------------------------------------------ users


@action("users")
def add_user(engine: Engine, actor: Actor, name: str, role: str, region_code: str | None, password: str, *,
             must_change: bool, display_name: str | None = None) -> None:
    require(engine, actor, "users", action_name="user_add", target=name)
    with engine.begin() as conn:
        auth.create_user(conn, name, role, region_code, password, must_change=must_change,
                         display_name=display_name)
        audit.append(conn, actor, "user_add", target=name, detail=f"角色 {role}，区划 {region_code or '—'}")


@action("users")
def set_user_disabled(engine: Engine, actor: Actor, name: str, disabled: bool) -> None:
    action_name = "user_disable" if disabled else "user_enable"
    require(engine, actor, "users", action_name=action_name, target=name)
    if disabled and name == actor.name:
        raise ActionError("不能停用自己的账号。")
    with engine.begin() as conn:
        auth.set_disabled(conn, name, disabled)
        audit.append(conn, actor, action_name, target=name)


@action("users")
def reset_password(engine: Engine, actor: Actor, name: str, password: str) -> None:
    """A new password set by the administrator: the user must change it at sign-in."""
    require(engine, actor, "users", action_name="user_reset", target=name)
    with engine.begin() as conn:
        auth.set_password(conn, name, password, must_change=True)
        audit.append(conn, actor, "user_reset", target=name)


# ------------------------------------------------------------------ the accountability loop (issue 15)
# Records about officials and units (四定四包, 2453, 一事双交, 销号, 领导接访, 五个必批,
# 纪委移送, 溯源, 问责/约谈, 回访): each write checks its role and the scope of every case
# and region it names, and is stored with its audit record in one transaction.


class _BadInput:
    """Turn the core's AccountabilityError into ActionError (same message)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        from dashboard.accountability import AccountabilityError

        if kind is not None and issubclass(kind, AccountabilityError):
            raise ActionError(str(error)) from None
        return False


def _leader(engine: Engine, value) -> int:
    from dashboard import accountability

    with engine.connect() as conn, _BadInput():
        return accountability.leader_id_of(conn, value)


def _unit(engine: Engine, value) -> int | None:
    from dashboard import accountability

    with engine.connect() as conn, _BadInput():
        return accountability.unit_id_of(conn, value)


@action("accountability")
def save_case_plan(engine: Engine, actor: Actor, case_no: str, *, leader: str | None, measures: str | None,
                   target_date: dt.date | None, responsible_person: str | None,
                   responsible_unit: str | None) -> list[str]:
    """四定四包 of a case; returns the 定 still missing (flagged on the leader board)."""
    from dashboard import accountability

    require(engine, actor, "casework", action_name="plan", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="plan")
    leader_id = _leader(engine, leader) if leader else None
    unit_id = _unit(engine, responsible_unit)
    with engine.begin() as conn, _BadInput():
        missing = accountability.save_plan(
            conn, case_id, leader_id=leader_id, measures=measures, target_date=target_date,
            responsible_person=responsible_person, responsible_unit_id=unit_id, by=actor.label, at=audit.now())
        audit.append(conn, actor, "plan", target=case_no,
                     detail="四定四包" + (f"，缺：{'、'.join(missing)}" if missing else "，四定齐全"))
    return missing


@action("accountability")
def record_case_step(engine: Engine, actor: Actor, case_no: str, step: str, *, done_on: dt.date,
                     note: str | None = None) -> None:
    """One 2453 step of a case (a township records its own cases' steps)."""
    from dashboard import accountability, config

    require(engine, actor, "casework", action_name="step", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="step")
    with engine.begin() as conn, _BadInput():
        accountability.record_step(conn, case_id, step, done_on=done_on, note=note, by=actor.label,
                                   at=audit.now(), today=config.today())
        audit.append(conn, actor, "step", target=case_no,
                     detail=f"2453 {accountability.STEPS[accountability.step_of(step)]}，{done_on:%Y-%m-%d}")


@action("accountability")
def set_dual_part(engine: Engine, actor: Actor, case_no: str, unit: str, role: str, part: str) -> None:
    """一事双交: the part of the territory or of the city competent unit."""
    from dashboard import accountability

    require(engine, actor, "casework", action_name="dual_part", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="dual_part")
    unit_id = _unit(engine, unit)
    if unit_id is None:
        raise ActionError("请填写单位全称。")
    with engine.begin() as conn, _BadInput():
        accountability.set_part(conn, case_id, unit_id, role, part)
        audit.append(conn, actor, "dual_part", target=case_no, detail=f"{unit}（{role}）分工已登记")


@action("accountability")
def clear_backlog_case(engine: Engine, actor: Actor, case_no: str, *, on: dt.date, approved_by: str,
                       note: str | None = None) -> int:
    """销号: resolved, 回访 done, approved."""
    from dashboard import accountability, config

    require(engine, actor, "clearance", action_name="clear", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="clear")
    with engine.begin() as conn, _BadInput():
        record_id = accountability.clear(conn, case_id, on=on, approved_by=approved_by, note=note, by=actor.label,
                                         at=audit.now(), today=config.today())
        audit.append(conn, actor, "clear", target=case_no, detail=f"销号 {on:%Y-%m-%d}，批准人 {approved_by}")
    return record_id


@action("accountability")
def reopen_backlog_case(engine: Engine, actor: Actor, case_no: str, *, on: dt.date, approved_by: str,
                        note: str) -> int:
    """再次督办 of a cleared case."""
    from dashboard import accountability, config

    require(engine, actor, "clearance", action_name="reopen", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="reopen")
    with engine.begin() as conn, _BadInput():
        record_id = accountability.reopen(conn, case_id, on=on, approved_by=approved_by, note=note,
                                          by=actor.label, at=audit.now(), today=config.today())
        audit.append(conn, actor, "reopen", target=case_no, detail=f"再次督办 {on:%Y-%m-%d}，批准人 {approved_by}")
    return record_id


@action("accountability")
def add_reception(engine: Engine, actor: Actor, *, leader: str, region_code: str, held_on: dt.date, place: str,
                  level: str, form: str, held: bool, persons: int = 0, case_nos: tuple[str, ...] = (),
                  note: str | None = None) -> int:
    """A leader's reception day; the cases taken into 包案 from it must lie in the scope."""
    from dashboard import accountability, config

    require(engine, actor, "reception", action_name="reception", target=place)
    require_region(engine, actor, region_code, action_name="reception", target=place)
    leader_id = _leader(engine, leader)
    case_ids = [require_case(engine, actor, no, action_name="reception") for no in case_nos if no.strip()]
    with engine.begin() as conn, _BadInput():
        reception_id = accountability.add_reception(
            conn, leader_id=leader_id, region_code=region_code, held_on=held_on, place=place, level=level,
            form=form, held=held, persons=persons, case_ids=case_ids, note=note, by=actor.label, at=audit.now(),
            today=config.today())
        audit.append(conn, actor, "reception", target=f"接访 #{reception_id}",
                     detail=f"{held_on:%Y-%m-%d} {place}，{'已接访' if held else '已安排'}，{persons} 人次，"
                     f"包案 {len(case_ids)} 件")
    return reception_id


@action("accountability")
def add_instruction(engine: Engine, actor: Actor, *, leader: str, category: str, item: str,
                    received_on: dt.date, region_code: str | None = None, case_no: str | None = None,
                    instructed_on: dt.date | None = None, instruction: str | None = None) -> int:
    """A matter in a leader's 五个必批 queue (instructed on now or later)."""
    from dashboard import accountability, config

    require(engine, actor, "reception", action_name="instruction", target=(item or "")[:100])
    leader_id = _leader(engine, leader)
    if region_code is None:
        with engine.connect() as conn:
            region_code = accountability.leader_region(conn, leader_id)
    require_region(engine, actor, region_code, action_name="instruction", target=(item or "")[:100])
    case_id = require_case(engine, actor, case_no, action_name="instruction") if case_no else None
    with engine.begin() as conn, _BadInput():
        instruction_id = accountability.add_instruction(
            conn, leader_id=leader_id, region_code=region_code, category=category, item=item, case_id=case_id,
            received_on=received_on, instructed_on=instructed_on, instruction=instruction, by=actor.label,
            at=audit.now(), today=config.today())
        audit.append(conn, actor, "instruction", target=f"必批 #{instruction_id}",
                     detail=f"呈报 {received_on:%Y-%m-%d}" + (f"，批示 {instructed_on:%Y-%m-%d}" if instructed_on else ""))
    return instruction_id


def _instruction_region(engine: Engine, instruction_id: int) -> str:
    from dashboard.models import instructions

    with engine.connect() as conn:
        region = conn.execute(sa.select(instructions.c.region_code)
                              .where(instructions.c.id == instruction_id)).scalar()
    if region is None:
        raise ActionError(f"呈批事项 #{instruction_id} 不存在。")
    return region


@action("accountability")
def record_instruction(engine: Engine, actor: Actor, instruction_id: int, *, instructed_on: dt.date,
                       instruction: str) -> None:
    from dashboard import accountability, config

    require(engine, actor, "reception", action_name="instruct", target=f"必批 #{instruction_id}")
    require_region(engine, actor, _instruction_region(engine, instruction_id), action_name="instruct",
                   target=f"必批 #{instruction_id}")
    with engine.begin() as conn, _BadInput():
        accountability.record_instruction(conn, instruction_id, instructed_on=instructed_on,
                                          instruction=instruction, today=config.today())
        audit.append(conn, actor, "instruct", target=f"必批 #{instruction_id}",
                     detail=f"批示 {instructed_on:%Y-%m-%d}")


@action("accountability")
def add_referral(engine: Engine, actor: Actor, case_no: str, *, kind: str, referred_on: dt.date,
                 approved_by: str, receiving_body: str, quarter: str | None = None) -> int:
    """纪委+信访: a person moves a case to the discipline commission (a proposal is only
    a proposal: nothing is referred without this action)."""
    from dashboard import accountability, config

    require(engine, actor, "referral", action_name="referral", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="referral")
    leader_id = _leader(engine, approved_by)
    with engine.begin() as conn, _BadInput():
        referral_id = accountability.add_referral(
            conn, case_id, kind=kind, quarter=quarter, referred_on=referred_on, approved_by_leader_id=leader_id,
            receiving_body=receiving_body, by=actor.label, at=audit.now(), today=config.today())
        audit.append(conn, actor, "referral", target=case_no,
                     detail=f"移送记录 #{referral_id}，{kind}，{referred_on:%Y-%m-%d}，{receiving_body}")
    return referral_id


def _referral_case(engine: Engine, referral_id: int) -> str:
    from dashboard.models import referrals

    with engine.connect() as conn:
        case_no = conn.execute(sa.select(cases.c.case_no).join(referrals, referrals.c.case_id == cases.c.id)
                               .where(referrals.c.id == referral_id)).scalar()
    if case_no is None:
        raise ActionError(f"移送记录 #{referral_id} 不存在。")
    return case_no


@action("accountability")
def update_referral(engine: Engine, actor: Actor, referral_id: int, *, finding: str | None = None,
                    outcome: str | None = None, feedback_on: dt.date | None = None,
                    closed_on: dt.date | None = None) -> dict:
    """The commission's feedback, and 对账销号 once verified."""
    from dashboard import accountability, config

    require(engine, actor, "referral", action_name="referral_update", target=f"移送记录 #{referral_id}")
    case_no = _referral_case(engine, referral_id)
    require_case(engine, actor, case_no, action_name="referral_update")
    with engine.begin() as conn, _BadInput():
        values = accountability.update_referral(conn, referral_id, finding=finding, outcome=outcome,
                                                feedback_on=feedback_on, closed_on=closed_on, today=config.today())
        audit.append(conn, actor, "referral_update", target=case_no,
                     detail=f"移送记录 #{referral_id}：" + "，".join(sorted(values))
                     + ("；对账销号" if "closed_on" in values else ""))
    return values


@action("accountability")
def add_trace(engine: Engine, actor: Actor, case_no: str, *, traced_on: dt.date, cause: str,
              responsible_unit: str | None = None) -> int:
    """信访责任溯源 of a case."""
    from dashboard import accountability, config

    require(engine, actor, "accountability", action_name="trace", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="trace")
    unit_id = _unit(engine, responsible_unit)
    with engine.begin() as conn, _BadInput():
        trace_id = accountability.add_trace(conn, case_id, traced_on=traced_on, cause=cause,
                                            responsible_unit_id=unit_id, by=actor.label, at=audit.now(),
                                            today=config.today())
        audit.append(conn, actor, "trace", target=case_no, detail=f"溯源 #{trace_id}，{traced_on:%Y-%m-%d}")
    return trace_id


@action("accountability")
def add_accountability(engine: Engine, actor: Actor, *, official_name: str, post: str, unit_name: str,
                       level: str, decided_on: dt.date, form: str, region_code: str | None = None,
                       case_no: str | None = None, reason: str | None = None) -> int:
    """问责 or 约谈 of an official (a public-office holder, in that capacity)."""
    from dashboard import accountability, config

    require(engine, actor, "accountability", action_name="accountability", target=official_name)
    case_id = require_case(engine, actor, case_no, action_name="accountability") if case_no else None
    if region_code is None and case_id is not None:
        with engine.connect() as conn:
            row = conn.execute(sa.select(cases.c.county_code, cases.c.township_code)
                               .where(cases.c.id == case_id)).one()
        region_code = row.township_code or row.county_code
    if region_code is None:
        raise ActionError("请填写所属区划代码（或关联的信访件编号）。")
    require_region(engine, actor, region_code, action_name="accountability", target=official_name)
    with engine.begin() as conn, _BadInput():
        record_id = accountability.add_accountability(
            conn, region_code=region_code, case_id=case_id, official_name=official_name, post=post,
            unit_name=unit_name, level=level, decided_on=decided_on, form=form, reason=reason, by=actor.label,
            at=audit.now(), today=config.today())
        audit.append(conn, actor, "accountability", target=f"问责记录 #{record_id}",
                     detail=f"{decided_on:%Y-%m-%d}，{form}")
    return record_id


@action("accountability")
def add_revisit(engine: Engine, actor: Actor, case_no: str, *, revisited_on: dt.date, way: str,
                result: str | None = None, satisfaction_bureau: str | None = None,
                satisfaction_authority: str | None = None) -> int:
    """回访 of a closed case."""
    from dashboard import accountability, config

    require(engine, actor, "revisit", action_name="revisit", target=case_no)
    case_id = require_case(engine, actor, case_no, action_name="revisit")
    with engine.begin() as conn, _BadInput():
        revisit_id = accountability.add_revisit(
            conn, case_id, revisited_on=revisited_on, way=way, result=result,
            satisfaction_bureau=satisfaction_bureau, satisfaction_authority=satisfaction_authority,
            by=actor.label, at=audit.now(), today=config.today())
        audit.append(conn, actor, "revisit", target=case_no, detail=f"回访 #{revisit_id}，{revisited_on:%Y-%m-%d}")
    return revisit_id


@action("accountability")
def import_records(engine: Engine, actor: Actor, kind: str, rows: list[list], *, file_name: str,
                   dry_run: bool = False):
    """Import one kind of accountability record from a table's rows
    (`dashboard.record_import`): valid rows are written, each refused row is reported
    with its reason; rows naming a case or region outside the scope are refused."""
    from dashboard import config, record_import

    if kind not in record_import.KINDS:
        raise ActionError(f"记录类型 {kind} 无法识别，应为：{'、'.join(record_import.KINDS)}。")
    permission = record_import.KINDS[kind].permission
    require(engine, actor, permission, action_name="records_import", target=file_name)
    with engine.begin() as conn:
        result = record_import.import_records(conn, kind, rows, scope=actor.scope, by=actor.label, at=audit.now(),
                                              today=config.today(), dry_run=dry_run)
        audit.append(conn, actor, "records_import", target=file_name,
                     detail=("试运行：" if dry_run else "") + f"{record_import.KINDS[kind].title} {result.rows} 行，"
                     f"写入 {result.written}，拒绝 {len(result.rejected)}"
                     + (f"（其中 {result.outside} 行不在查看范围内）" if result.outside else ""))
    return result
# ------------------------------------------------------------------ early warnings (一单三推)


@action("warnings")
def raise_warnings(engine: Engine, actor: Actor, on: dt.date, today: dt.date) -> tuple[int, int]:
    """Raise the warnings of the day `on` for the whole city (idempotent per day: only
    what is not stored yet is added). Only a city-wide actor raises them."""
    from dashboard import early_warning

    require(engine, actor, "warn", action_name="warn", target=f"{on:%Y-%m-%d}")
    if on > today:
        raise ActionError(f"{on:%Y-%m-%d} 还没到，预警只能在当天或之前的日期发布。")
    if actor.scope is None or actor.scope.level != "city":
        audit.record(engine, actor, "warn", target=f"{on:%Y-%m-%d}", outcome="denied", detail="预警按全市发布")
        raise Refused(scope_message(actor))
    with engine.begin() as conn:
        new, total = early_warning.raise_warnings(conn, on, by=actor.label, now=audit.now())
        audit.append(conn, actor, "warn", target=f"{on:%Y-%m-%d}", detail=f"新发布 {new} 条，当日共 {total} 条")
    return new, total


def _delivery_region(engine: Engine, delivery_id: int) -> tuple[str, int]:
    from dashboard import early_warning

    with engine.connect() as conn:
        try:
            row = early_warning.delivery(conn, delivery_id)
        except early_warning.WarningError as error:
            raise ActionError(str(error)) from None
    return row["region_code"], int(row["warning_id"])


@action("warnings")
def acknowledge_warning(engine: Engine, actor: Actor, delivery_id: int) -> None:
    """A recipient acknowledges (签收) the warning pushed to it; the recipient's region
    must lie in the actor's scope."""
    from dashboard import early_warning

    require(engine, actor, "respond", action_name="warn_ack", target=f"预警推送 #{delivery_id}")
    region_code, warning_id = _delivery_region(engine, delivery_id)
    require_region(engine, actor, region_code, action_name="warn_ack", target=f"预警 #{warning_id}")
    with engine.begin() as conn:
        try:
            early_warning.acknowledge(conn, delivery_id, by=actor.label, now=audit.now())
        except early_warning.WarningError as error:
            raise ActionError(str(error)) from None
        audit.append(conn, actor, "warn_ack", target=f"预警 #{warning_id}", detail=f"推送 #{delivery_id}")


@action("warnings")
def act_on_warning(engine: Engine, actor: Actor, delivery_id: int, note: str) -> None:
    """A recipient reports what it did about the warning (处置)."""
    from dashboard import early_warning

    require(engine, actor, "respond", action_name="warn_act", target=f"预警推送 #{delivery_id}")
    region_code, warning_id = _delivery_region(engine, delivery_id)
    require_region(engine, actor, region_code, action_name="warn_act", target=f"预警 #{warning_id}")
    with engine.begin() as conn:
        try:
            early_warning.act(conn, delivery_id, note, by=actor.label, now=audit.now())
        except early_warning.WarningError as error:
            raise ActionError(str(error)) from None
        audit.append(conn, actor, "warn_act", target=f"预警 #{warning_id}",
                     detail=f"推送 #{delivery_id}：{(note or '').strip()[:200]}")


@action("warnings")
def close_warning(engine: Engine, actor: Actor, warning_id: int, note: str) -> None:
    """The bureau closes a warning (销号) with a reason."""
    from dashboard import early_warning

    require(engine, actor, "warn", action_name="warn_close", target=f"预警 #{warning_id}")
    with engine.connect() as conn:
        try:
            region_code = early_warning.warning_row(conn, warning_id)["region_code"]
        except early_warning.WarningError as error:
            raise ActionError(str(error)) from None
    require_region(engine, actor, region_code, action_name="warn_close", target=f"预警 #{warning_id}")
    with engine.begin() as conn:
        try:
            early_warning.close(conn, warning_id, note, by=actor.label, now=audit.now())
        except early_warning.WarningError as error:
            raise ActionError(str(error)) from None
        audit.append(conn, actor, "warn_close", target=f"预警 #{warning_id}", detail=(note or "").strip()[:200])


@action("warnings")
def add_sensitive_period(engine: Engine, actor: Actor, name: str, starts_on: dt.date, ends_on: dt.date) -> int:
    """A sensitive period: on its days the warning thresholds are lower."""
    from dashboard import early_warning

    require(engine, actor, "sensitive", action_name="sensitive", target=name)
    with engine.begin() as conn:
        try:
            period_id = early_warning.add_sensitive_period(conn, name, starts_on, ends_on, by=actor.label,
                                                           now=audit.now())
        except early_warning.WarningError as error:
            raise ActionError(str(error)) from None
        audit.append(conn, actor, "sensitive", target=name.strip(), detail=f"{starts_on} 至 {ends_on}")
    return period_id


@action("targets")
def set_backlog_target(engine: Engine, actor: Actor, region_code: str, target_date: dt.date,
                       today: dt.date) -> None:
    """The date by which a county (or the city) is to clear its backlog (积案清零)."""
    from dashboard.models import backlog_targets

    require(engine, actor, "settings", action_name="backlog_target", target=region_code)
    require_region(engine, actor, region_code, action_name="backlog_target")
    with engine.connect() as conn:
        level = conn.execute(sa.select(regions.c.level).where(regions.c.code == region_code)).scalar()
    if level not in ("city", "county"):
        raise ActionError(f"积案清零目标按县区（或全市）设定，{region_code} 不是县区代码。")
    if target_date < today:
        raise ActionError(f"目标日期 {target_date} 早于今天（{today}），请填写今天或以后的日期。")
    with engine.begin() as conn:
        conn.execute(backlog_targets.delete().where(backlog_targets.c.region_code == region_code))
        conn.execute(backlog_targets.insert().values(region_code=region_code, target_date=target_date,
                                                     set_by=actor.label, set_at=audit.now()))
        audit.append(conn, actor, "backlog_target", target=region_code, detail=f"清零目标 {target_date}")
