"""Import of the accountability loop's records (receptions, instructions, referrals,
溯源, 问责/约谈, 回访, 2453 steps, 四定四包) from Excel or CSV, with the case ledger's
rules: the header row is found by its column names, each row is checked on its own,
valid rows are written and each refused row is reported with its row number, column
and reason (in Chinese); nothing of a refused row is written. Rows naming a case or a
region outside the importer's scope are refused like unknown ones (no data of other
regions is confirmed).

Reading is bounded: the file size cap of the ledger import (`IMPORT_MAX_MB`) and at
most `MAX_ROWS` data rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import accountability as acc
from dashboard.ledger import LedgerError, clean, parse_bool, parse_date
from dashboard.models import cases, regions
from dashboard.scope import Scope, code_in_scope, scope_condition

MAX_ROWS = 5_000
HEADER_SEARCH_ROWS = 10


@dataclass
class Rejection:
    row: int  # row number in the file (1 = first row)
    column: str
    reason: str
    cells: list = field(default_factory=list, repr=False)  # the row as given, for the refused-rows file


@dataclass
class RecordImportResult:
    kind: str
    rows: int = 0
    written: int = 0
    outside: int = 0  # refused rows naming a case or region outside the scope
    rejected: list[Rejection] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {"kind": self.kind, "rows": self.rows, "written": self.written, "rejected_count": len(self.rejected),
                "dry_run": self.dry_run,
                "rejections": [{"row": r.row, "column": r.column, "reason": r.reason} for r in self.rejected]}


@dataclass(frozen=True)
class Kind:
    title: str
    permission: str
    columns: dict[str, tuple[str, ...]]  # field -> (header, aliases...)
    required: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "reception": Kind("领导接访", "reception", {
        "leader": ("接访领导", "领导", "领导姓名"), "region": ("区划代码", "所属区划", "区划"),
        "held_on": ("接访日期", "日期"), "place": ("接访地点", "地点"), "level": ("层级", "接访层级"),
        "form": ("形式", "接访形式"), "held": ("是否举行", "已接访", "是否接访"),
        "persons": ("接待人次", "人次"), "case_nos": ("包案信访件编号", "包案件", "包案信访件"),
        "note": ("备注",)}, ("leader", "region", "held_on", "place", "level", "form", "held")),
    "instruction": Kind("五个必批", "reception", {
        "leader": ("批示领导", "领导"), "category": ("必批类别", "类别"), "item": ("呈批事项", "事项"),
        "received_on": ("呈报日期",), "instructed_on": ("批示日期",), "instruction": ("批示内容", "批示"),
        "case_no": ("信访件编号",), "region": ("区划代码", "所属区划")},
        ("leader", "category", "item", "received_on")),
    "referral": Kind("纪委移送", "referral", {
        "case_no": ("信访件编号",), "kind": ("移送类型", "类型"), "quarter": ("季度",),
        "referred_on": ("移送日期",), "approved_by": ("批准领导", "分管领导"),
        "receiving_body": ("接收机关", "接收的纪检监察机关", "纪委监委"), "finding": ("查处认定", "认定"),
        "outcome": ("处理结果", "结果"), "feedback_on": ("反馈日期",), "closed_on": ("对账销号日期", "销号日期")},
        ("case_no", "kind", "referred_on", "approved_by", "receiving_body")),
    "trace": Kind("溯源调查", "accountability", {
        "case_no": ("信访件编号",), "traced_on": ("溯源日期", "日期"), "cause": ("成因", "溯源结论"),
        "responsible_unit": ("责任单位",)}, ("case_no", "traced_on", "cause")),
    "accountability": Kind("问责约谈", "accountability", {
        "official_name": ("姓名", "被问责人", "责任人"), "post": ("职务",), "unit_name": ("单位", "所在单位"),
        "level": ("层级",), "decided_on": ("日期", "问责日期", "约谈日期"), "form": ("形式", "问责形式"),
        "region": ("区划代码", "所属区划"), "case_no": ("信访件编号",), "reason": ("事由",)},
        ("official_name", "post", "unit_name", "level", "decided_on", "form")),
    "revisit": Kind("回访", "revisit", {
        "case_no": ("信访件编号",), "revisited_on": ("回访日期", "日期"), "way": ("回访方式", "方式"),
        "result": ("回访结果", "结果"), "satisfaction_bureau": ("对信访部门满意度", "信访部门满意度"),
        "satisfaction_authority": ("对责任部门满意度", "责任部门满意度", "主管部门满意度")},
        ("case_no", "revisited_on", "way")),
    "step": Kind("2453 步骤", "casework", {
        "case_no": ("信访件编号",), "step": ("步骤", "2453步骤"), "done_on": ("完成日期", "日期"),
        "note": ("说明", "备注")}, ("case_no", "step", "done_on")),
    "plan": Kind("四定四包", "casework", {
        "case_no": ("信访件编号",), "leader": ("包案领导", "定领导"), "measures": ("包案措施", "定措施", "措施"),
        "target_date": ("化解时限", "定时间", "目标日期"), "responsible_person": ("责任人",),
        "responsible_unit": ("责任单位",)}, ("case_no",)),
}
DATE_FIELDS = {"held_on", "received_on", "instructed_on", "referred_on", "feedback_on", "closed_on", "traced_on",
               "decided_on", "revisited_on", "done_on", "target_date"}


def read_rows(data: bytes, filename: str, encoding: str | None = None) -> list[list]:
    """The rows of an Excel or CSV file (the ledger's reader, with its size cap)."""
    from dashboard.ledger import read_table

    return read_table(data, filename, encoding)


def template_csv(kind: str) -> bytes:
    """An empty CSV with the kind's headers (UTF-8 with BOM, for Excel)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([names[0] for names in KINDS[kind].columns.values()])
    return buffer.getvalue().encode("utf-8-sig")


def _header(rows: list[list], kind: Kind) -> tuple[int, dict[int, str]]:
    index = {"".join(clean(name).split()): key for key, names in kind.columns.items() for name in names}
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = {i: index["".join(clean(cell).split())] for i, cell in enumerate(row)
                   if "".join(clean(cell).split()) in index}
        if set(kind.required) <= set(columns.values()):
            return number, columns
    need = "、".join(kind.columns[key][0] for key in kind.required)
    raise LedgerError(f"没有找到{kind.title}表头：前 {HEADER_SEARCH_ROWS} 行中须有一行含这些列：{need}。"
                      "可下载模板对照。")


def import_records(conn: Connection, kind_name: str, rows: list[list], *, scope: Scope, by: str,
                   at: dt.datetime, today: dt.date, dry_run: bool = False) -> RecordImportResult:
    kind = KINDS[kind_name]
    header_at, columns = _header(rows, kind)
    body = [(header_at + 2 + i, row) for i, row in enumerate(rows[header_at + 1:])
            if any(clean(cell) for cell in row)]
    if len(body) > MAX_ROWS:
        raise LedgerError(f"{kind.title}数据 {len(body):,} 行，超过单次 {MAX_ROWS:,} 行上限，请拆分后分批导入。")
    result = RecordImportResult(kind_name, rows=len(body), dry_run=dry_run)
    outer = conn.begin_nested() if dry_run else None
    for line, row in body:
        raw = {key: row[i] if i < len(row) else None for i, key in columns.items()}
        savepoint = conn.begin_nested()
        try:
            WRITERS[kind_name](_Row(conn, scope, raw, result), by=by, at=at, today=today)
        except _Refused as refusal:
            savepoint.rollback()
            result.rejected.append(Rejection(line, kind.columns[refusal.field][0] if refusal.field else "",
                                             refusal.reason, list(row)))
            continue
        except (acc.AccountabilityError, sa.exc.IntegrityError) as error:
            savepoint.rollback()
            reason = str(error) if isinstance(error, acc.AccountabilityError) else "与已有记录重复或引用不存在的数据"
            result.rejected.append(Rejection(line, "", reason, list(row)))
            continue
        savepoint.commit()
        result.written += 1
    if outer is not None:
        outer.rollback()
    return result


class _Refused(Exception):
    def __init__(self, field_name: str | None, reason: str):
        super().__init__(reason)
        self.field, self.reason = field_name, reason


class _Row:
    """One row's values, read and checked field by field."""

    def __init__(self, conn: Connection, scope: Scope, raw: dict, result: RecordImportResult):
        self.conn, self.scope, self.raw, self.result = conn, scope, raw, result

    def text(self, key: str) -> str | None:
        value = clean(self.raw.get(key))
        return value or None

    def date(self, key: str) -> dt.date | None:
        try:
            return parse_date(self.raw.get(key))
        except (ValueError, TypeError):
            raise _Refused(key, f"日期“{clean(self.raw.get(key))[:20]}”无法识别，请写成 2026-03-05。") from None

    def need(self, key: str):
        value = self.date(key) if key in DATE_FIELDS else self.text(key)
        if value is None:
            raise _Refused(key, "必填，不能为空。")
        return value

    def boolean(self, key: str) -> bool:
        try:
            return parse_bool(self.raw.get(key))
        except ValueError:
            raise _Refused(key, "应为 是 或 否。") from None

    def count(self, key: str) -> int:
        text = self.text(key)
        if text is None:
            return 0
        try:
            value = int(float(text))
        except ValueError:
            value = -1
        if value < 0:
            raise _Refused(key, "应为 0 或正整数。")
        return value

    def case_id(self, key: str = "case_no", *, value: str | None = None) -> int:
        number = value or self.need(key)
        row = self.conn.execute(sa.select(cases.c.id, scope_condition(self.scope).label("inside"))
                                .where(cases.c.case_no == number)).first()
        if row is None or not row.inside:
            if row is not None:
                self.result.outside += 1
            raise _Refused(key, f"信访件 {number} 不存在或不在您的查看范围内。")
        return int(row.id)

    def region(self, key: str = "region") -> str:
        text = "".join((self.need(key)).split())
        row = self.conn.execute(sa.select(regions.c.code, code_in_scope(regions.c.code, self.scope).label("inside"))
                                .where(sa.or_(regions.c.code == text, regions.c.name == text))).first()
        if row is None or not row.inside:
            if row is not None:
                self.result.outside += 1
            raise _Refused(key, f"区划“{text[:20]}”不存在或不在您的查看范围内。")
        return row.code


def _reception(r: _Row, **stamp) -> None:
    leader_id = acc.leader_id_of(r.conn, r.need("leader"))
    numbers = [n for n in (r.text("case_nos") or "").replace("，", ",").replace("、", ",").split(",") if n.strip()]
    acc.add_reception(r.conn, leader_id=leader_id, region_code=r.region(), held_on=r.need("held_on"),
                      place=r.need("place"), level=r.need("level"), form=r.need("form"), held=r.boolean("held"),
                      persons=r.count("persons"), case_ids=[r.case_id("case_nos", value=n.strip()) for n in numbers],
                      note=r.text("note"), **stamp)


def _instruction(r: _Row, **stamp) -> None:
    leader_id = acc.leader_id_of(r.conn, r.need("leader"))
    region = r.region() if r.text("region") else acc.leader_region(r.conn, leader_id)
    if not r.text("region") and not r.conn.execute(sa.select(sa.func.count()).select_from(regions).where(
            regions.c.code == region, code_in_scope(regions.c.code, r.scope))).scalar_one():
        raise _Refused("leader", "该领导所属区划不在您的查看范围内。")
    case_id = r.case_id() if r.text("case_no") else None
    acc.add_instruction(r.conn, leader_id=leader_id, region_code=region, category=r.need("category"),
                        item=r.need("item"), case_id=case_id, received_on=r.need("received_on"),
                        instructed_on=r.date("instructed_on"), instruction=r.text("instruction"), **stamp)


def _referral(r: _Row, *, by, at, today) -> None:
    case_id = r.case_id()
    referral_id = acc.add_referral(r.conn, case_id, kind=r.need("kind"), quarter=r.text("quarter"),
                                   referred_on=r.need("referred_on"),
                                   approved_by_leader_id=acc.leader_id_of(r.conn, r.need("approved_by")),
                                   receiving_body=r.need("receiving_body"), by=by, at=at, today=today)
    feedback = dict(finding=r.text("finding"), outcome=r.text("outcome"), feedback_on=r.date("feedback_on"),
                    closed_on=r.date("closed_on"))
    if any(v is not None for v in feedback.values()):
        acc.update_referral(r.conn, referral_id, today=today, **feedback)


def _trace(r: _Row, **stamp) -> None:
    acc.add_trace(r.conn, r.case_id(), traced_on=r.need("traced_on"), cause=r.need("cause"),
                  responsible_unit_id=acc.unit_id_of(r.conn, r.text("responsible_unit")), **stamp)


def _accountability(r: _Row, **stamp) -> None:
    case_id = r.case_id() if r.text("case_no") else None
    if r.text("region"):
        region = r.region()
    elif case_id is not None:
        row = r.conn.execute(sa.select(cases.c.county_code, cases.c.township_code).where(cases.c.id == case_id)).one()
        region = row.township_code or row.county_code
    else:
        raise _Refused("region", "请填写区划代码或信访件编号。")
    acc.add_accountability(r.conn, region_code=region, case_id=case_id, official_name=r.need("official_name"),
                           post=r.need("post"), unit_name=r.need("unit_name"), level=r.need("level"),
                           decided_on=r.need("decided_on"), form=r.need("form"), reason=r.text("reason"), **stamp)


def _revisit(r: _Row, **stamp) -> None:
    acc.add_revisit(r.conn, r.case_id(), revisited_on=r.need("revisited_on"), way=r.need("way"),
                    result=r.text("result"), satisfaction_bureau=r.text("satisfaction_bureau"),
                    satisfaction_authority=r.text("satisfaction_authority"), **stamp)


def _step(r: _Row, **stamp) -> None:
    acc.record_step(r.conn, r.case_id(), r.need("step"), done_on=r.need("done_on"), note=r.text("note"), **stamp)


def _plan(r: _Row, *, by, at, today) -> None:
    leader = r.text("leader")
    acc.save_plan(r.conn, r.case_id(), leader_id=acc.leader_id_of(r.conn, leader) if leader else None,
                  measures=r.text("measures"), target_date=r.date("target_date"),
                  responsible_person=r.text("responsible_person"),
                  responsible_unit_id=acc.unit_id_of(r.conn, r.text("responsible_unit")), by=by, at=at)


WRITERS: dict[str, Callable] = {
    "reception": _reception, "instruction": _instruction, "referral": _referral, "trace": _trace,
    "accountability": _accountability, "revisit": _revisit, "step": _step, "plan": _plan,
}


def rejected_csv(result: RecordImportResult, header: list | None = None) -> bytes:
    """The refused rows as given, after their row number, column and reason (UTF-8 with
    BOM for Excel): fix them and import the file again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["行号", "问题列", "原因", *(header or [])])
    for r in result.rejected:
        writer.writerow([r.row, r.column, r.reason, *("" if c is None else c for c in r.cells)])
    return buffer.getvalue().encode("utf-8-sig")
