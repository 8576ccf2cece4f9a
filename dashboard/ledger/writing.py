"""Writing a ledger: validate every row, then upsert the valid ones by case number in
the caller's transaction (a check runs the same in a savepoint rolled back). Refused
rows are kept with their reasons for a file to fix and import again, personal data
masked."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config, summaries
from dashboard.db import bulk_insert
from dashboard.exports import safe_frame, unneutralise
from dashboard.ledger.fields import (
    BOOL_FIELDS,
    CASE_FIELDS,
    CODE_LABELS,
    FIELD_NAMES,
    FIELDS,
    HEADER_INDEX,
    IGNORED,
    PERSONAL,
    REQUIRED,
    SOURCES,
    ImportResult,
    LedgerError,
    Rejection,
    RowWarning,
    blank,
    header_key,
    name_key,
)
from dashboard.ledger.mapping import find_header, header_names
from dashboard.ledger.reading import Formula
from dashboard.ledger.validation import Geography, shown_value, validate_row
from dashboard.models import case_events, case_units, cases, leaders, units


def _unit_kind(name: str) -> str:
    core = re.sub(r"[（(][^）)]*[）)]$", "", name)  # 住建局（人防办） is a bureau
    return "bureau" if core.endswith(("局", "委", "办", "部", "厅", "院", "中心", "公司")) else "township_gov"


def _named(conn: Connection, table: sa.Table, names: list[str], values: Callable[[str], dict]) -> tuple[dict, list]:
    """Ids of units or leaders by name (matched on `name_key`), creating the missing
    ones under the name first written in the file."""
    by_key: dict[str, int] = {}
    for row_id, name in conn.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)):
        by_key.setdefault(name_key(name), row_id)
    ids, created = {}, []
    for name in names:
        key = name_key(name)
        if key not in by_key:
            by_key[key] = conn.execute(table.insert().values(name=name, **values(name))).inserted_primary_key[0]
            created.append(name)
        ids[name] = by_key[key]
    return ids, created


def import_ledger(
    conn: Connection, rows: list[list], *, mapping: dict[str, str] | None = None,
    header_row: int | None = None, columns: dict[int, str] | None = None, dry_run: bool = False,
    values: dict[str, dict[str, str | None]] | None = None,
    actor: str = "台账导入", progress: Callable[[float, str], None] | None = None, now: dt.datetime | None = None,
) -> ImportResult:
    """Validate and upsert a ledger's rows. The caller owns the transaction: on any
    exception nothing stays written. With `dry_run` everything is done (and counted)
    in a savepoint that is rolled back, so a check reports exactly what an import would.

    `columns` (column index -> field, with `header_row`) is a mapping the user made
    column by column (the page): exactly those columns are imported. Otherwise the
    header row is found and read with the built-in names plus `mapping`."""
    if columns is not None:
        header_index = header_row or 0
        columns = {int(i): f for i, f in columns.items() if f and f not in IGNORED}
        twice = sorted({FIELDS[f][0] for f in columns.values() if list(columns.values()).count(f) > 1})
        if twice:
            raise LedgerError(f"字段 {'、'.join(twice)} 被指定给了多列，请只保留一列。")
    else:
        header_index, columns = find_header(rows, mapping)
    missing = [FIELDS[k][0] for k in REQUIRED if k not in columns.values()]
    if missing:
        raise LedgerError(f"缺少必需的列：{'、'.join(missing)}。请检查表头，或用列名对照文件指定。")
    header = header_names(rows[header_index])
    geography = Geography.load(conn)
    result = ImportResult(dry_run=dry_run)
    seen: dict[str, int] = {}
    valid: list[tuple[int, dict]] = []
    body = rows[header_index + 1:]
    while body and blank(body[-1]):  # blank trailing rows
        body.pop()
    if all(blank(row) for row in body):
        raise LedgerError(f"文件只有表头（第 {header_index + 1} 行），没有数据行。"
                          "请检查是否导出了空台账，或数据是否在第一个工作表中。")
    today = config.today()  # one date for every row of the file
    for offset, row in enumerate(body):
        line = header_index + offset + 2  # as numbered in the spreadsheet
        if progress and offset % 5000 == 0:
            progress(0.5 * offset / len(body), f"已检查 {offset:,} 行")
        if blank(row):
            continue
        result.rows += 1
        raw = {key: _cell(row, i) for i, key in columns.items()}
        record, problems, warnings = validate_row(raw, geography, values, today)
        number = record["case_no"]
        if number and number in seen:
            problems.append(("case_no", number, f"与第 {seen[number]} 行编号重复，已保留第 {seen[number]} 行"))
        elif number:
            seen[number] = line
        if problems:
            for key, value, reason in problems:
                result.rejected.append(Rejection(line, FIELDS.get(key, (key,))[0], value, reason))
            original = {name: _original(row, i, columns.get(i) or HEADER_INDEX.get(header_key(name)))
                        for i, name in enumerate(header)}
            result.rejected_rows.append({**original, "原行号": line,
                                         "拒绝原因": "；".join(f"{FIELDS.get(k, (k,))[0]}：{r}" for k, _, r in problems)})
            continue
        result.warnings += [RowWarning(line, FIELDS[key][0], value, reason) for key, value, reason in warnings]
        valid.append((line, record))
    if not valid:
        return result
    stamp = (now or dt.datetime.combine(config.today(), dt.datetime.now().time())).replace(microsecond=0)
    present = set(columns.values())
    if not dry_run:
        _write(conn, valid, result, present, geography, actor, progress, stamp)
        return result
    savepoint = conn.begin_nested()
    try:
        _write(conn, valid, result, present, geography, actor, progress, stamp, recompute_deadlines=False)
    finally:
        savepoint.rollback()
    return result



def _cell(row: list, i: int):
    if i >= len(row):
        return None
    return row[i] if isinstance(row[i], Formula) else unneutralise(row[i])


def _original(row: list, i: int, key: str | None):
    """A refused row's cell as the rejected-rows file writes it: as given, but personal
    data masked (the file leaves the system) and formula cells named."""
    value = row[i] if i < len(row) else None
    if isinstance(value, Formula) or key in PERSONAL:
        return shown_value(key or "", value) if value is not None else None
    return value


def _write(conn, valid, result, present, geography, actor, progress, stamp, recompute_deadlines=True) -> None:
    from dashboard.deadlines import fill_new_deadlines, recompute

    unit_ids, result.new_units = _named(
        conn, units, list(dict.fromkeys(v[k] for _, v in valid for k in ("responsible_unit", "competent_unit")
                                        if v[k])),
        lambda name: {"kind": _unit_kind(name), "region_code": None})
    leader_ids, result.new_leaders = _named(
        conn, leaders, list(dict.fromkeys(v["leader"] for _, v in valid if v["leader"])),
        lambda name: {"title": "", "level": "county", "region_code": None})
    numbers = [v["case_no"] for _, v in valid]
    existing = {}
    for start in range(0, len(numbers), 5000):
        chunk = numbers[start:start + 5000]
        for row in conn.execute(sa.select(cases).where(cases.c.case_no.in_(chunk))).mappings():
            existing[row["case_no"]] = dict(row)
    given = {k for k in CASE_FIELDS if any(source in present for source in SOURCES.get(k, (k,)))}
    inserts, updates, events, links, relinks = [], [], [], [], []
    names = _Names(conn, geography)
    for _, values in valid:
        record = {k: values.get(k) for k in CASE_FIELDS}
        record["responsible_unit_id"] = unit_ids.get(values["responsible_unit"])
        record["competent_unit_id"] = unit_ids.get(values["competent_unit"])
        record["leader_id"] = leader_ids.get(values["leader"])
        for key in BOOL_FIELDS:
            record[key] = bool(values.get(key))
        old = existing.get(values["case_no"])
        if old is None:
            record["track"] = record["track"] or "general"
            inserts.append({"case_no": values["case_no"], **record})
            continue
        _keep_known(record, old, given, present, geography)
        changed = [k for k in CASE_FIELDS if _differs(old.get(k), record.get(k))]
        if not changed:
            result.unchanged += 1
            continue
        updates.append({"_id": old["id"], **{k: record.get(k) for k in CASE_FIELDS}})
        events.append({"case_id": old["id"], "kind": "updated", "at": stamp, "actor": actor,
                       "note": "台账导入更新：" + "；".join(names.change(k, old.get(k), record.get(k)) for k in changed)})
        for role, key in (("territory", "responsible_unit_id"), ("competent", "competent_unit_id")):
            if key in changed:
                relinks.append((old["id"], role, record[key], record["responsible_unit_id"]))
    last_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(cases.c.id), 0))).scalar()
    if inserts:
        fill_new_deadlines(conn, inserts)  # written with their deadlines, not updated afterwards
        bulk_insert(conn, cases, inserts)
        ids = dict(conn.execute(sa.select(cases.c.case_no, cases.c.id).where(cases.c.id > last_id)).all())
        for row in inserts:
            case_id = ids[row["case_no"]]
            events.append({"case_id": case_id, "kind": "dispatched", "at": dt.datetime.combine(row["registered_on"],
                                                                                              dt.time(9)),
                           "actor": actor, "note": "台账导入"})
            for role, key in (("territory", "responsible_unit_id"), ("competent", "competent_unit_id")):
                if row.get(key) and not (role == "competent" and row[key] == row.get("responsible_unit_id")):
                    links.append({"case_id": case_id, "unit_id": row[key], "role": role})
    if progress:
        progress(0.7, f"写入 {len(inserts):,} 件新案件、更新 {len(updates):,} 件")
    if updates:
        summaries.retract_cases(conn, [u["_id"] for u in updates])  # their old figures leave the summaries
        conn.execute(cases.update().where(cases.c.id == sa.bindparam("_id"))
                     .values({k: sa.bindparam(k) for k in CASE_FIELDS}), updates)
    for case_id, role, unit_id, responsible in relinks:  # 一事双交 follows the new units
        conn.execute(case_units.delete().where(case_units.c.case_id == case_id, case_units.c.role == role))
        if unit_id and not (role == "competent" and unit_id == responsible):
            links.append({"case_id": case_id, "unit_id": unit_id, "role": role})
    if events:
        bulk_insert(conn, case_events, events)
    if links:
        bulk_insert(conn, case_units, links)
    result.new, result.updated = len(inserts), len(updates)
    # the summaries take the new and updated cases once, with their deadlines
    keep = functools.partial(summaries.refresh_cases, conn, [u["_id"] for u in updates],
                             new_above=last_id if inserts else None)
    if not recompute_deadlines:
        return keep()
    if progress:
        progress(0.85, "按时限规则计算期限…")
    updated_ids = sorted(u["_id"] for u in updates)
    for start in range(0, len(updated_ids), 20000):
        recompute(conn, cases.c.id.in_(updated_ids[start:start + 20000]), keep_summaries=False)
    keep()
    if progress:
        progress(1.0, "导入完成")


def _keep_known(record: dict, old: dict, given: set, present: set, geography: Geography) -> None:
    """What a ledger row does not say about a known case stays as it was: columns the
    file lacks, an empty 办理程序, masked personal data (张**)."""
    for key in CASE_FIELDS:
        if key not in given:
            record[key] = old.get(key)
    if "township" not in present:  # kept only while it lies in the (new) county
        parent = geography.townships.get(old.get("township_code"), (None, None))[1]
        record["township_code"] = old.get("township_code") if parent == record["county_code"] else None
    if "resolved_on" not in present and record["resolved"] and old.get("resolved_on"):
        record["resolved_on"] = old["resolved_on"]
    record["track"] = record["track"] or old.get("track")
    for key in PERSONAL:
        if record.get(key) and "*" in record[key]:
            record[key] = old.get(key)


def _differs(old, new) -> bool:
    if isinstance(old, dt.datetime):
        old = old.date()
    if old is None and new in (None, "", False) and not isinstance(new, bool):
        return False
    return old != new


class _Names:
    """Changes of an update event in words: labels and names, never codes or ids;
    personal data only as “已更新”."""

    def __init__(self, conn: Connection, geography: Geography) -> None:
        self.conn, self.geography = conn, geography
        self.tables: dict[str, dict] = {}

    def change(self, key: str, old, new) -> str:
        if key in PERSONAL:
            return f"{FIELD_NAMES[key]}已更新"
        return f"{FIELD_NAMES.get(key, key)}：{self.shown(key, old)}→{self.shown(key, new)}"

    def shown(self, key: str, value) -> str:
        if value is None or value == "":
            return "空"
        if isinstance(value, bool):
            return "是" if value else "否"
        if key in CODE_LABELS:
            return CODE_LABELS[key].get(value, str(value))
        if key in ("county_code", "township_code"):
            return self.geography.names.get(value, str(value))
        table = {"responsible_unit_id": units, "competent_unit_id": units, "leader_id": leaders}.get(key)
        if table is not None:
            if table.name not in self.tables:  # a few hundred names, read once
                self.tables[table.name] = dict(self.conn.execute(sa.select(table.c.id, table.c.name)).all())
            return self.tables[table.name].get(value, str(value))
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


def rejected_csv(result: ImportResult) -> bytes:
    """The refused rows with their reasons, as CSV (UTF-8 with BOM) to fix and import
    again. Cells that look like formulas are neutralised as in every export (the
    importer strips that apostrophe again)."""
    frame = safe_frame(pd.DataFrame(result.rejected_rows))
    return ("\ufeff" + frame.to_csv(index=False, lineterminator="\n")).encode("utf-8")

