"""The accountability loop: who took a backlog case and what they did (四定四包, 2453),
who received petitioners (领导接访) and instructed on matters (五个必批), which cases
went to the discipline commission (纪委+信访), 溯源调查, 问责/约谈, 回访 and 销号.

Writes take a connection inside the caller's transaction (`dashboard.actions` checks
role and scope and adds the audit record). Bad input raises `AccountabilityError`
with a Chinese message; nothing is written then.

These are records about officials and units. Nothing here lists, rates or tracks
petitioners: a 回访 stores how satisfied the petitioner says they are with the bureau
and with the competent authority (ratings of the bodies), never who the petitioner is.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import (
    accountability_records,
    case_plans,
    case_steps,
    case_units,
    cases,
    clearances,
    instructions,
    leaders,
    reception_cases,
    receptions,
    referrals,
    revisits,
    traces,
    units,
)

# 2453 (两见面、四听取、五确定、三督办): the seed gives no finer list, so the steps are
# numbered within each of the four groups.
STEP_GROUPS = {"meet": ("两见面", "见面", 2), "hear": ("四听取", "听取", 4), "settle": ("五确定", "确定", 5),
               "supervise": ("三督办", "督办", 3)}
STEPS = {f"{group}{i}": f"{title}·第{i}次{verb}" for group, (title, verb, n) in STEP_GROUPS.items()
         for i in range(1, n + 1)}
STEP_COUNT = len(STEPS)  # 14

PLAN_PARTS = {"leader": "定领导", "measures": "定措施", "target_date": "定时间", "responsibility": "定责任"}

RECEPTION_LEVELS = {"city": "市级", "county": "县级", "township": "乡级"}
RECEPTION_FORMS = {"receive": "接访", "appointment": "约访", "down": "下访", "walk": "走访"}
RECEPTION_FORM_NOTES = {"receive": "专题接访", "appointment": "重点约访", "down": "带案下访", "walk": "下基层走访"}

# 五个必批 (Tongling): the five kinds of matter the principal leaders must instruct on.
INSTRUCTION_CATEGORIES = {
    "concentrated": "群众反映问题集中",
    "difficult": "工作推进有难度",
    "decision": "重大决策出台可能引发矛盾纠纷",
    "emergency": "发生突发事件",
    "bureau": "信访局呈报的较大事项",
}

REFERRAL_KINDS = {"typical": "典型案例", "general": "一般事项"}
FINDINGS = {"shirking": "推诿扯皮", "inaction": "不作为", "misconduct": "乱作为", "none": "未发现问题"}

# 约谈 is a talk, not a sanction; the other forms are 问责.
ACCOUNTABILITY_FORMS = {"interview": "约谈", "criticism": "通报批评", "admonish": "诫勉",
                        "organisational": "组织处理", "discipline": "党纪政务处分"}
SANCTION_FORMS = tuple(code for code in ACCOUNTABILITY_FORMS if code != "interview")

REVISIT_WAYS = {"phone": "电话回访", "visit": "上门回访", "letter": "信函回访", "online": "网上回访"}
RATINGS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
SATISFIED = ("satisfied", "basic")

CLEARANCE_KINDS = {"cleared": "已销号", "reopened": "再次督办"}

MAX_TEXT = 2000
QUARTER = re.compile(r"^(\d{4})\s*[Qq年第]?\s*([1-4])\s*季?度?$")


class AccountabilityError(ValueError):
    """Bad input to a record of the accountability loop (Chinese message)."""


# ------------------------------------------------------------------ parsing helpers


def code_of(kind: str, mapping: dict[str, str], value, *, required: bool = True) -> str | None:
    """A code from its code, its Chinese label or a note label (专题接访 → receive)."""
    text = "".join(str(value or "").split())
    if not text:
        if required:
            raise AccountabilityError(f"请填写{kind}（{'、'.join(mapping.values())}）。")
        return None
    if text.lower() in mapping:
        return text.lower()
    for code, name in mapping.items():
        if text == name:
            return code
    if mapping is RECEPTION_FORMS:
        for code, name in RECEPTION_FORM_NOTES.items():
            if text == name:
                return code
    raise AccountabilityError(f"{kind}“{text[:20]}”无法识别，应为：{'、'.join(mapping.values())}。")


def quarter_of(value) -> str:
    """2026Q2 from 2026Q2, 2026年第2季度, 2026-2."""
    text = "".join(str(value or "").split()).replace("-", "Q").replace("年第", "Q")
    match = QUARTER.match(text)
    if not match:
        raise AccountabilityError(f"季度“{str(value)[:20]}”格式不对，请写成 2026Q2 或 2026年第2季度。")
    return f"{match.group(1)}Q{match.group(2)}"


def quarter_for(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def text_of(what: str, value, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    text = "\n".join(" ".join(line.split()) for line in str(value or "").splitlines()).strip()
    if not text:
        if required:
            raise AccountabilityError(f"请填写{what}。")
        return None
    if len(text) > limit:
        raise AccountabilityError(f"{what}最多 {limit} 字，现为 {len(text)} 字，请精简。")
    return text


def leader_id_of(conn: Connection, value) -> int:
    """A leader by id (#3 or 3) or by name (a name shared by several leaders must be
    given by id)."""
    text = "".join(str(value or "").split()).lstrip("#")
    if not text:
        raise AccountabilityError("请填写领导（姓名或编号）。")
    if text.isdigit():
        row = conn.execute(sa.select(leaders.c.id).where(leaders.c.id == int(text))).first()
        if row is None:
            raise AccountabilityError(f"领导编号 {text} 不存在。")
        return int(row.id)
    found = conn.execute(sa.select(leaders.c.id, leaders.c.title).where(leaders.c.name == text)).all()
    if not found:
        raise AccountabilityError(f"领导“{text[:20]}”不存在，请核对姓名（或用编号）。")
    if len(found) > 1:
        raise AccountabilityError(f"有 {len(found)} 位领导名为“{text}”，请用编号指定："
                                  + "、".join(f"#{r.id} {r.title}" for r in found))
    return int(found[0].id)


def leader_region(conn: Connection, leader_id: int) -> str | None:
    return conn.execute(sa.select(leaders.c.region_code).where(leaders.c.id == leader_id)).scalar()


def unit_id_of(conn: Connection, value, *, required: bool = False) -> int | None:
    text = " ".join(str(value or "").split())
    if not text:
        if required:
            raise AccountabilityError("请填写责任单位。")
        return None
    row = conn.execute(sa.select(units.c.id).where(units.c.name == text)).first()
    if row is None:
        raise AccountabilityError(f"单位“{text[:40]}”不存在，请按单位全称填写。")
    return int(row.id)


def _date(what: str, value: dt.date | None, today: dt.date, *, required: bool = True) -> dt.date | None:
    if value is None:
        if required:
            raise AccountabilityError(f"请填写{what}（YYYY-MM-DD）。")
        return None
    if value > today:
        raise AccountabilityError(f"{what} {value:%Y-%m-%d} 晚于今天（{today:%Y-%m-%d}），请核对。")
    return value


def _case(conn: Connection, case_id: int):
    return conn.execute(sa.select(cases.c.id, cases.c.case_no, cases.c.is_backlog, cases.c.closed_on,
                                  cases.c.resolved_on, cases.c.county_code, cases.c.township_code)
                        .where(cases.c.id == case_id)).one()


# ------------------------------------------------------------------ 四定四包, 2453, 一事双交


def save_plan(conn: Connection, case_id: int, *, leader_id: int | None, measures: str | None,
              target_date: dt.date | None, responsible_person: str | None, responsible_unit_id: int | None,
              by: str, at: dt.datetime) -> list[str]:
    """Record (or replace) a case's 四定四包; returns the parts still missing."""
    measures = text_of("包案措施（定措施）", measures)
    person = text_of("责任人（定责任）", responsible_person, limit=50)
    values = dict(leader_id=leader_id, measures=measures, target_date=target_date, responsible_person=person,
                  responsible_unit_id=responsible_unit_id, recorded_by=by, recorded_at=at)
    if not any(v is not None for k, v in values.items() if k not in ("recorded_by", "recorded_at")):
        raise AccountabilityError("四定四包至少填写一项：包案领导、措施、时间或责任。")
    if conn.execute(sa.select(case_plans.c.case_id).where(case_plans.c.case_id == case_id)).first():
        conn.execute(case_plans.update().where(case_plans.c.case_id == case_id).values(**values))
    else:
        conn.execute(case_plans.insert().values(case_id=case_id, **values))
    return missing_parts(values)


def missing_parts(plan) -> list[str]:
    """The 定 of a plan (a mapping) still missing, by their Chinese names."""
    missing = []
    if not plan.get("leader_id"):
        missing.append(PLAN_PARTS["leader"])
    if not plan.get("measures"):
        missing.append(PLAN_PARTS["measures"])
    if not plan.get("target_date"):
        missing.append(PLAN_PARTS["target_date"])
    if not plan.get("responsible_person") or not plan.get("responsible_unit_id"):
        missing.append(PLAN_PARTS["responsibility"])
    return missing


def record_step(conn: Connection, case_id: int, step: str, *, done_on: dt.date, note: str | None, by: str,
                at: dt.datetime, today: dt.date) -> None:
    """Record one 2453 step of a case (a second recording of the step corrects it)."""
    step = step_of(step)
    _date("完成日期", done_on, today)
    values = dict(done_on=done_on, note=text_of("说明", note), recorded_by=by, recorded_at=at)
    exists = conn.execute(sa.select(case_steps.c.step).where(case_steps.c.case_id == case_id,
                                                              case_steps.c.step == step)).first()
    if exists:
        conn.execute(case_steps.update().where(case_steps.c.case_id == case_id, case_steps.c.step == step)
                     .values(**values))
    else:
        conn.execute(case_steps.insert().values(case_id=case_id, step=step, **values))


def step_of(value) -> str:
    text = "".join(str(value or "").split())
    if text.lower() in STEPS:
        return text.lower()
    for code, name in STEPS.items():
        if text == name:
            return code
    raise AccountabilityError(f"2453 步骤“{text[:20]}”无法识别，应为 meet1–2（见面）、hear1–4（听取）、"
                              "settle1–5（确定）、supervise1–3（督办），或其中文名称，如“两见面·第1次见面”。")


def set_part(conn: Connection, case_id: int, unit_id: int, role: str, part: str | None) -> None:
    """一事双交: the unit's part of a case (the territory or the city competent unit)."""
    if role not in ("territory", "competent"):
        raise AccountabilityError("一事双交的单位角色应为 属地 或 主管部门。")
    part = text_of("承担的工作（分工）", part, required=True)
    key = (case_units.c.case_id == case_id, case_units.c.unit_id == unit_id, case_units.c.role == role)
    if conn.execute(sa.select(case_units.c.case_id).where(*key)).first():
        conn.execute(case_units.update().where(*key).values(part=part))
    else:
        conn.execute(case_units.insert().values(case_id=case_id, unit_id=unit_id, role=role, part=part))


# ------------------------------------------------------------------ 销号 and 再次督办


def clearance_state(conn: Connection, case_id: int):
    """The latest clearance row of a case, or None."""
    return conn.execute(sa.select(clearances).where(clearances.c.case_id == case_id)
                        .order_by(clearances.c.decided_on.desc(), clearances.c.id.desc()).limit(1)).first()


def clear(conn: Connection, case_id: int, *, on: dt.date, approved_by: str, note: str | None, by: str,
          at: dt.datetime, today: dt.date) -> int:
    """销号: only a backlog case resolved by `on`, with a 回访 on or before `on`, and not
    cleared already; the approving official is named."""
    case = _case(conn, case_id)
    _date("销号日期", on, today)
    approved_by = text_of("批准人（姓名、职务）", approved_by, required=True, limit=50)
    if not case.is_backlog:
        raise AccountabilityError(f"信访件 {case.case_no} 不是积案，无需销号。")
    if case.resolved_on is None or case.resolved_on > on:
        raise AccountabilityError(f"信访件 {case.case_no} 尚未化解（台账“是否化解”为否），不能销号：先化解，再回访，再报批销号。")
    revisited = conn.execute(sa.select(sa.func.count()).select_from(revisits).where(
        revisits.c.case_id == case_id, revisits.c.revisited_on <= on)).scalar_one()
    if not revisited:
        raise AccountabilityError(f"信访件 {case.case_no} 还没有回访记录，不能销号：请先登记回访。")
    state = clearance_state(conn, case_id)
    if state is not None and state.kind == "cleared":
        raise AccountabilityError(f"信访件 {case.case_no} 已于 {state.decided_on:%Y-%m-%d} 销号。")
    return conn.execute(clearances.insert().values(
        case_id=case_id, kind="cleared", decided_on=on, approved_by=approved_by, note=text_of("说明", note),
        recorded_by=by, recorded_at=at)).inserted_primary_key[0]


def reopen(conn: Connection, case_id: int, *, on: dt.date, approved_by: str, note: str | None, by: str,
           at: dt.datetime, today: dt.date) -> int:
    """再次督办: a cleared case comes back (the matter recurred, the 回访 found it unsettled)."""
    case = _case(conn, case_id)
    _date("再次督办日期", on, today)
    approved_by = text_of("批准人（姓名、职务）", approved_by, required=True, limit=50)
    note = text_of("再次督办原因", note, required=True)
    state = clearance_state(conn, case_id)
    if state is None or state.kind != "cleared":
        raise AccountabilityError(f"信访件 {case.case_no} 尚未销号，无需再次督办（仍在积案清单上）。")
    if on < state.decided_on:
        raise AccountabilityError(f"再次督办日期早于销号日期 {state.decided_on:%Y-%m-%d}。")
    return conn.execute(clearances.insert().values(
        case_id=case_id, kind="reopened", decided_on=on, approved_by=approved_by, note=note, recorded_by=by,
        recorded_at=at)).inserted_primary_key[0]


# ------------------------------------------------------------------ 领导接访 and 五个必批


def add_reception(conn: Connection, *, leader_id: int, region_code: str, held_on: dt.date, place: str,
                  level: str, form: str, held: bool, persons: int, case_ids: list[int], note: str | None,
                  by: str, at: dt.datetime, today: dt.date) -> int:
    place = text_of("接访地点", place, required=True, limit=100)
    level = code_of("接访层级", RECEPTION_LEVELS, level)
    form = code_of("接访形式", RECEPTION_FORMS, form)
    if held and held_on > today:
        raise AccountabilityError(f"接访日期 {held_on:%Y-%m-%d} 还没到，不能登记为已接访；请先登记为已安排。")
    if persons is None or persons < 0 or persons > 100_000:
        raise AccountabilityError("接待人次应为 0 或正整数。")
    if not held and (persons or case_ids):
        raise AccountabilityError("未举行的接访不能登记接待人次或包案件；举行后再登记。")
    reception_id = conn.execute(receptions.insert().values(
        leader_id=leader_id, region_code=region_code, held_on=held_on, place=place, level=level, form=form,
        held=bool(held), persons=int(persons or 0), note=text_of("备注", note), recorded_by=by, recorded_at=at,
    )).inserted_primary_key[0]
    for case_id in sorted(set(case_ids)):
        conn.execute(reception_cases.insert().values(reception_id=reception_id, case_id=case_id))
    return reception_id


def add_instruction(conn: Connection, *, leader_id: int, region_code: str, category: str, item: str,
                    case_id: int | None, received_on: dt.date, instructed_on: dt.date | None,
                    instruction: str | None, by: str, at: dt.datetime, today: dt.date) -> int:
    category = code_of("必批事项类别", INSTRUCTION_CATEGORIES, category)
    item = text_of("呈批事项", item, required=True, limit=200)
    _date("呈报日期", received_on, today)
    instructed_on, instruction = _instruction(received_on, instructed_on, instruction, today)
    return conn.execute(instructions.insert().values(
        leader_id=leader_id, region_code=region_code, category=category, item=item, case_id=case_id,
        received_on=received_on, instructed_on=instructed_on, instruction=instruction, recorded_by=by,
        recorded_at=at)).inserted_primary_key[0]


def _instruction(received_on, instructed_on, instruction, today):
    instruction = text_of("批示内容", instruction)
    if (instructed_on is None) != (instruction is None):
        raise AccountabilityError("批示日期和批示内容须同时填写（未批示的两项都留空）。")
    if instructed_on is not None:
        _date("批示日期", instructed_on, today)
        if instructed_on < received_on:
            raise AccountabilityError(f"批示日期 {instructed_on:%Y-%m-%d} 早于呈报日期 {received_on:%Y-%m-%d}。")
    return instructed_on, instruction


def record_instruction(conn: Connection, instruction_id: int, *, instructed_on: dt.date, instruction: str,
                       today: dt.date) -> None:
    row = conn.execute(sa.select(instructions).where(instructions.c.id == instruction_id)).first()
    if row is None:
        raise AccountabilityError(f"呈批事项 #{instruction_id} 不存在。")
    if row.instructed_on is not None:
        raise AccountabilityError(f"呈批事项 #{instruction_id} 已于 {row.instructed_on:%Y-%m-%d} 批示。")
    instructed_on, text = _instruction(row.received_on, instructed_on, instruction, today)
    if instructed_on is None:
        raise AccountabilityError("请填写批示日期和批示内容。")
    conn.execute(instructions.update().where(instructions.c.id == instruction_id)
                 .values(instructed_on=instructed_on, instruction=text))


# ------------------------------------------------------------------ 纪委+信访, 溯源, 问责


def add_referral(conn: Connection, case_id: int, *, kind: str, quarter: str | None, referred_on: dt.date,
                 approved_by_leader_id: int | None, receiving_body: str, by: str, at: dt.datetime,
                 today: dt.date) -> int:
    kind = code_of("移送类型", REFERRAL_KINDS, kind)
    _date("移送日期", referred_on, today)
    quarter = quarter_of(quarter) if quarter else quarter_for(referred_on)
    body = text_of("接收的纪检监察机关", receiving_body, required=True, limit=100)
    if approved_by_leader_id is None:
        raise AccountabilityError("请填写批准移送的分管领导。")
    open_one = conn.execute(sa.select(referrals.c.id).where(referrals.c.case_id == case_id,
                                                            referrals.c.closed_on.is_(None))).first()
    if open_one:
        raise AccountabilityError(f"该件已移送（移送记录 #{open_one.id}），尚未对账销号，不能重复移送。")
    return conn.execute(referrals.insert().values(
        case_id=case_id, kind=kind, quarter=quarter, referred_on=referred_on,
        approved_by_leader_id=approved_by_leader_id, receiving_body=body, recorded_by=by, recorded_at=at,
    )).inserted_primary_key[0]


def update_referral(conn: Connection, referral_id: int, *, finding: str | None, outcome: str | None,
                    feedback_on: dt.date | None, closed_on: dt.date | None, today: dt.date) -> dict:
    """The commission's feedback (findings, outcome, date) and 对账销号 once verified.
    Fields left empty keep their stored value; a closed referral is not changed."""
    row = conn.execute(sa.select(referrals).where(referrals.c.id == referral_id)).first()
    if row is None:
        raise AccountabilityError(f"移送记录 #{referral_id} 不存在。")
    if row.closed_on is not None:
        raise AccountabilityError(f"移送记录 #{referral_id} 已于 {row.closed_on:%Y-%m-%d} 对账销号，不再修改。")
    values = {}
    if finding:
        values["finding"] = code_of("查处认定", FINDINGS, finding)
    if outcome:
        values["outcome"] = text_of("处理结果", outcome)
    if feedback_on is not None:
        _date("反馈日期", feedback_on, today)
        if feedback_on < row.referred_on:
            raise AccountabilityError(f"反馈日期早于移送日期 {row.referred_on:%Y-%m-%d}。")
        values["feedback_on"] = feedback_on
    if closed_on is not None:
        _date("对账销号日期", closed_on, today)
        merged = {**row._mapping, **values}
        if merged["feedback_on"] is None or merged["finding"] is None or not merged["outcome"]:
            raise AccountabilityError("对账销号前须有纪委监委的反馈：请填写反馈日期、查处认定和处理结果。")
        if closed_on < merged["feedback_on"]:
            raise AccountabilityError("对账销号日期早于反馈日期。")
        values["closed_on"] = closed_on
    if not values:
        raise AccountabilityError("没有要更新的内容：请填写查处认定、处理结果、反馈日期或对账销号日期。")
    conn.execute(referrals.update().where(referrals.c.id == referral_id).values(**values))
    return values


def add_trace(conn: Connection, case_id: int, *, traced_on: dt.date, cause: str, responsible_unit_id: int | None,
              by: str, at: dt.datetime, today: dt.date) -> int:
    _date("溯源日期", traced_on, today)
    cause = text_of("成因（溯源结论）", cause, required=True)
    return conn.execute(traces.insert().values(
        case_id=case_id, traced_on=traced_on, cause=cause, responsible_unit_id=responsible_unit_id,
        recorded_by=by, recorded_at=at)).inserted_primary_key[0]


def add_accountability(conn: Connection, *, region_code: str, case_id: int | None, official_name: str, post: str,
                       unit_name: str, level: str, decided_on: dt.date, form: str, reason: str | None, by: str,
                       at: dt.datetime, today: dt.date) -> int:
    _date("问责（约谈）日期", decided_on, today)
    return conn.execute(accountability_records.insert().values(
        region_code=region_code, case_id=case_id,
        official_name=text_of("被问责（约谈）人姓名", official_name, required=True, limit=50),
        post=text_of("职务", post, required=True, limit=100),
        unit_name=text_of("所在单位", unit_name, required=True, limit=100),
        level=code_of("层级", RECEPTION_LEVELS, level), decided_on=decided_on,
        form=code_of("形式", ACCOUNTABILITY_FORMS, form), reason=text_of("事由", reason), recorded_by=by,
        recorded_at=at)).inserted_primary_key[0]


# ------------------------------------------------------------------ 回访


def add_revisit(conn: Connection, case_id: int, *, revisited_on: dt.date, way: str, result: str | None,
                satisfaction_bureau: str | None, satisfaction_authority: str | None, by: str, at: dt.datetime,
                today: dt.date) -> int:
    case = _case(conn, case_id)
    _date("回访日期", revisited_on, today)
    if case.closed_on is None or case.closed_on > revisited_on:
        raise AccountabilityError(f"信访件 {case.case_no} 在 {revisited_on:%Y-%m-%d} 尚未办结，回访在办结之后进行。")
    return conn.execute(revisits.insert().values(
        case_id=case_id, revisited_on=revisited_on, way=code_of("回访方式", REVISIT_WAYS, way),
        result=text_of("回访结果", result),
        satisfaction_bureau=code_of("对信访部门的满意度", RATINGS, satisfaction_bureau, required=False),
        satisfaction_authority=code_of("对责任（主管）部门的满意度", RATINGS, satisfaction_authority, required=False),
        recorded_by=by, recorded_at=at)).inserted_primary_key[0]
