"""Ledger import (信访事项台账, domain.md §7): read a spreadsheet as bureaus really send
it, map its columns, validate every row, and upsert the valid rows by case number in
one transaction. Rejected rows are reported (row, column, value, reason, in Chinese)
and written to a file that can be fixed and imported again."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.labels import BACKLOG_SOURCES, CHANNELS, DOMAINS, ESCALATION, SATISFACTION
from dashboard.models import case_events, case_units, cases, leaders, regions, units

# field -> (header of domain.md §7, aliases). Required fields are listed below.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case_no": ("信访件编号", ("编号", "信访编号", "件号", "信访件号", "事项编号", "案件编号")),
    "registered_on": ("登记日期", ("登记时间", "信访日期", "来信来访日期", "收件日期")),
    "channel": ("信访形式", ("信访方式", "来源", "信访渠道")),
    "petitioner_name": ("信访人", ("信访人姓名", "姓名")),
    "petitioner_phone": ("联系电话", ("电话", "手机", "手机号码", "联系方式")),
    "petitioner_id_no": ("身份证号", ("身份证号码", "证件号码")),
    "persons": ("人数", ("信访人数", "来访人数")),
    "county": ("所属县区", ("县区", "县（市、区）", "县市区", "所属县（市、区）")),
    "township": ("所属乡镇", ("乡镇", "乡镇（街道）", "乡镇街道", "所属乡镇（街道）", "街道")),
    "domain": ("问题类别", ("问题分类", "问题类型", "所属领域", "类别")),
    "summary": ("诉求摘要", ("诉求内容", "主要诉求", "内容摘要", "反映问题")),
    "responsible_unit": ("责任单位", ("办理单位", "承办单位", "事权单位")),
    "competent_unit": ("主管部门", ("主管单位",)),
    "accepted_on": ("受理日期", ("受理时间",)),
    "handling_due": ("办理期限", ("办理时限", "办结期限")),
    "replied_on": ("答复日期", ("答复时间",)),
    "closed_on": ("办结日期", ("办结时间",)),
    "resolved": ("是否化解", ("化解情况", "已化解")),
    "resolved_on": ("化解日期", ("化解时间",)),
    "satisfaction": ("满意度", ("满意度评价", "评价结果", "评价")),
    "is_backlog": ("是否积案", ("积案",)),
    "backlog_source": ("积案来源", ("积案类型",)),
    "clearance_target": ("化解目标日期", ("化解时限", "化解期限")),
    "leader": ("包案领导", ("包案领导姓名", "包案人")),
    "escalation": ("越级情况", ("越级", "是否越级")),
    "is_repeat": ("是否重复", ("重复信访", "是否重复信访")),
}
REQUIRED = ("case_no", "registered_on", "channel", "county", "domain")
PERSONAL = {"petitioner_name", "petitioner_phone", "petitioner_id_no"}
DATE_FIELDS = ("registered_on", "accepted_on", "handling_due", "replied_on", "closed_on", "resolved_on",
               "clearance_target")
BOOL_FIELDS = ("resolved", "is_backlog", "is_repeat")
TRUE_WORDS = {"是", "y", "yes", "1", "√", "✓", "true", "有", "已化解", "化解"}
FALSE_WORDS = {"否", "n", "no", "0", "×", "✗", "x", "false", "无", "未化解", ""}
# Chinese words of the ledgers for the coded columns (labels plus common variants).
CODE_WORDS = {
    "channel": {**{v: k for k, v in CHANNELS.items()}, "网信": "online", "网上": "online", "网络": "online",
                "信": "letter", "访": "visit", "走访": "visit", "12345": "phone", "电话信访": "phone",
                "书记信箱": "mailbox", "市长信箱": "mailbox"},
    "domain": {**{v: k for k, v in DOMAINS.items()}, "劳动和社会保障": "labor", "城乡建设": "housing",
               "国土资源": "land", "环境保护": "environment", "医疗卫生": "health", "非法集资": "finance"},
    "satisfaction": {**{v: k for k, v in SATISFACTION.items()}, "": None, "未评价": None},
    "escalation": {**{v: k for k, v in ESCALATION.items()}, "": "none", "否": "none", "赴京": "beijing",
                   "到省": "province"},
    "backlog_source": {**{v: k for k, v in BACKLOG_SOURCES.items()}, "": None, "国家信访局交办": "national",
                       "省信访局交办": "province", "本级排查": "local"},
}


class LedgerError(ValueError):
    """A file that cannot be imported at all (exit code 2); nothing is written."""


@dataclass
class Rejection:
    row: int  # spreadsheet row number as the user sees it
    column: str
    value: str
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_rows: list[dict] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    new_leaders: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected_count(self) -> int:
        return len({r.row for r in self.rejected})

    def as_dict(self) -> dict:
        return {
            "rows": self.rows, "new": self.new, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": self.rejected_count, "dry_run": self.dry_run,
            "rejections": [vars(r) for r in self.rejected],
            "new_units": self.new_units, "new_leaders": self.new_leaders,
        }


# ------------------------------------------------------------ reading


def clean(value) -> str:
    """Text of a cell: full-width characters folded, stray whitespace removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", " ", text).strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s*＊:：]", "", clean(text)).lower()


HEADER_INDEX = {
    _header_key(name): key
    for key, (header, aliases) in FIELDS.items()
    for name in (header, key, *aliases)
}


def read_table(data: bytes, filename: str, encoding: str | None = None, max_bytes: int | None = None) -> list[list]:
    """All rows of the first sheet (or the CSV) as lists of raw cell values."""
    name = Path(filename).name
    max_bytes = max_bytes or config.import_max_bytes()
    if not data:
        raise LedgerError(f"{name} 是空文件，没有任何内容。")
    if len(data) > max_bytes:
        raise LedgerError(f"{name} 大小 {len(data) / 1048576:.1f} MB，超过 {max_bytes // 1048576} MB 上限。请拆分后分批导入。")
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] == b"%PDF":
        raise LedgerError(f"{name} 不是表格文件（看起来是图片或 PDF）。请从信访信息系统导出 Excel 或 CSV 后再导入。")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data:
            raise LedgerError(f"{name} 已加密（设置了打开密码）。请在 Excel 中取消密码、另存后再导入。")
        return _read_xls(data, name)
    return _read_csv(data, name, encoding)


def _read_xlsx(data: bytes, name: str) -> list[list]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise LedgerError(f"{name} 无法作为 Excel 文件打开，可能已损坏。请重新导出。") from None
    sheet = workbook.worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _read_xls(data: bytes, name: str) -> list[list]:
    try:
        import xlrd
    except ImportError:  # pragma: no cover - xlrd is a dependency
        raise LedgerError(f"{name} 是旧版 .xls 文件，本机缺少读取组件。请另存为 .xlsx 后导入。") from None
    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception:
        raise LedgerError(f"{name} 无法作为 .xls 文件打开，可能已损坏或加密。请另存为 .xlsx 后导入。") from None
    sheet = book.sheet_by_index(0)
    rows = []
    for r in range(sheet.nrows):
        row = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
            else:
                row.append(cell.value)
        rows.append(row)
    return rows


def _read_csv(data: bytes, name: str, encoding: str | None) -> list[list]:
    encodings = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for candidate in encodings:
        try:
            text = data.decode(candidate)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    else:
        raise LedgerError(f"{name} 不是可识别的表格：既不是 Excel，也无法按 UTF-8 或 GBK 读取为 CSV。"
                          "请从系统导出 Excel 或 CSV，或用 --encoding 指定编码。")
    if "\x00" in text:
        raise LedgerError(f"{name} 不是文本表格（含二进制内容）。请导出 Excel 或 CSV 后再导入。")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def find_header(rows: list[list], mapping: dict[str, str] | None = None) -> tuple[int, dict[int, str]]:
    """The header row (index) and column index -> field, skipping title rows."""
    extra = {_header_key(k): v for k, v in (mapping or {}).items()}
    best = (-1, {})
    for index, row in enumerate(rows[:30]):
        found = {}
        for column, cell in enumerate(row):
            key = _header_key(cell) if cell is not None else ""
            target = extra.get(key) or HEADER_INDEX.get(key)
            if target and target not in found.values():
                found[column] = target
        if len(found) > len(best[1]):
            best = (index, found)
        if len(found) >= 3 and "case_no" in found.values():
            return index, found
    if len(best[1]) < 3:
        raise LedgerError("找不到表头行：前 30 行中没有一行包含“信访件编号”“登记日期”等台账列名。"
                          "请检查文件，或提供列名对照文件（--mapping）。")
    return best


def load_mapping(path: str | Path) -> dict[str, str]:
    """A mapping file: TOML or YAML with a `columns` table {"原表头": "field"}."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        loaded = yaml.safe_load(text) or {}
    else:
        loaded = tomllib.loads(text)
    columns = loaded.get("columns", loaded)
    unknown = sorted(set(columns.values()) - set(FIELDS))
    if unknown:
        raise LedgerError(f"对照文件 {path.name} 中有未知字段：{'、'.join(unknown)}。可用字段：{'、'.join(FIELDS)}。")
    return {str(k): str(v) for k, v in columns.items()}


def mapping_toml(mapping: dict[str, str]) -> str:
    """A mapping as a TOML file the importer reads back."""
    lines = ["# 列名对照：原表头 = 字段名（字段名见 README）", "[columns]"]
    lines += [f'"{k}" = "{v}"' for k, v in mapping.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ values

EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


def parse_date(value) -> dt.date | None:
    """2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日, 20210305, Excel serials, datetimes.
    Returns None for an empty cell; raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # Excel serial day numbers (1954–2119)
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        if 19000101 <= value <= 21001231:
            value = str(int(value))
        else:
            raise ValueError
    text = clean(value)
    if not text:
        return None
    if re.fullmatch(r"\d{8}", text):
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_date(float(text))
    match = DATE_PATTERN.match(text)
    if not match:
        raise ValueError
    return dt.date(*(int(part) for part in match.groups()))


def parse_bool(value) -> bool:
    text = clean(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError


def parse_code(kind: str, value) -> str | None:
    text = clean(value)
    words = CODE_WORDS[kind]
    if text in words:
        return words[text]
    if text.lower() in {code for code in words.values() if code}:
        return text.lower()
    raise ValueError


# ------------------------------------------------------------ validation and writing


@dataclass
class Geography:
    counties: dict[str, str]  # code -> name
    townships: dict[str, tuple[str, str]]  # code -> (name, county code)

    @classmethod
    def load(cls, conn: Connection) -> Geography:
        rows = conn.execute(sa.select(regions.c.code, regions.c.name, regions.c.level, regions.c.parent_code)).all()
        return cls({r.code: r.name for r in rows if r.level == "county"},
                   {r.code: (r.name, r.parent_code) for r in rows if r.level == "township"})

    def county(self, text: str) -> str:
        if text in self.counties:
            return text
        matches = [code for code, name in self.counties.items() if name == text]
        if len(matches) == 1:
            return matches[0]
        raise ValueError(self._suggest(text, self.counties.values(), "县区"))

    def township(self, text: str, county: str | None) -> str | None:
        if not text:
            return None
        if text in self.townships:
            return text
        matches = [code for code, (name, parent) in self.townships.items()
                   if name == text and (county is None or parent == county)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValueError(f"乡镇“{text}”在多个县区都有，请填写所属县区")
        names = [name for name, parent in self.townships.values() if county is None or parent == county]
        raise ValueError(self._suggest(text, names, "乡镇（街道）"))

    @staticmethod
    def _suggest(text: str, names, what: str) -> str:
        close = difflib.get_close_matches(text, list(names), n=3, cutoff=0.4)
        return f"未知{what}“{text}”" + (f"，是否为：{'、'.join(close)}？" if close else "，请先导入区划或检查名称")


def _validate(raw: dict[str, object], geography: Geography) -> tuple[dict, list[tuple[str, str, str]]]:
    """A row's values as case fields, and its problems (field, value, reason)."""
    problems: list[tuple[str, str, str]] = []
    out: dict[str, object] = {}

    def bad(key: str, reason: str) -> None:
        problems.append((key, clean(raw.get(key)), reason))

    for key in REQUIRED:
        if not clean(raw.get(key)):
            bad(key, "必填项为空")
    out["case_no"] = clean(raw.get("case_no"))
    for key in DATE_FIELDS:
        try:
            out[key] = parse_date(raw.get(key))
        except (ValueError, TypeError, OverflowError):
            bad(key, "日期无法识别，请写成 2026-03-05")
    for key in BOOL_FIELDS:
        try:
            out[key] = parse_bool(raw.get(key))
        except ValueError:
            bad(key, "应为 是/否")
    for key in ("channel", "domain", "satisfaction", "escalation", "backlog_source"):
        if key in REQUIRED and not clean(raw.get(key)):
            continue
        try:
            out[key] = parse_code(key, raw.get(key))
        except ValueError:
            choices = {"channel": CHANNELS, "domain": DOMAINS, "satisfaction": SATISFACTION,
                       "escalation": ESCALATION, "backlog_source": BACKLOG_SOURCES}[key]
            bad(key, f"无法识别，可填：{'、'.join(choices.values())}")
    persons = clean(raw.get("persons")) or "1"
    try:
        out["persons"] = max(1, int(float(persons)))
    except ValueError:
        bad("persons", "人数应为整数")
    county_text = clean(raw.get("county"))
    county = None
    if county_text:
        try:
            county = geography.county(county_text)
        except ValueError as error:
            bad("county", str(error))
    out["county_code"] = county
    try:
        out["township_code"] = geography.township(clean(raw.get("township")), county)
        if out["township_code"] and county and geography.townships[out["township_code"]][1] != county:
            bad("township", "乡镇不属于所填县区")
    except ValueError as error:
        bad("township", str(error))
    for key in ("petitioner_name", "petitioner_phone", "petitioner_id_no", "summary", "responsible_unit",
                "competent_unit", "leader"):
        out[key] = clean(raw.get(key)) or None
    registered = out.get("registered_on")
    for key, name in (("accepted_on", "受理"), ("replied_on", "答复"), ("closed_on", "办结"), ("resolved_on", "化解")):
        if registered and out.get(key) and out[key] < registered:
            bad(key, f"{name}日期早于登记日期")
    flagged = {key for key, _, _ in problems}
    if (out.get("replied_on") and out.get("accepted_on") and out["replied_on"] < out["accepted_on"]
            and "replied_on" not in flagged):
        bad("replied_on", "答复日期早于受理日期")
    if out.get("resolved") and not out.get("resolved_on"):
        out["resolved_on"] = out.get("closed_on")
    if out.get("resolved_on") and not out.get("resolved"):
        out["resolved"] = True
    out["is_collective"] = (out.get("persons") or 1) >= 5
    out["escalation"] = out.get("escalation") or "none"
    return out, problems


CASE_FIELDS = ("registered_on", "channel", "petitioner_name", "petitioner_phone", "petitioner_id_no", "persons",
               "is_collective", "county_code", "township_code", "domain", "summary", "responsible_unit_id",
               "competent_unit_id", "accepted_on", "replied_on", "closed_on", "resolved", "resolved_on",
               "satisfaction", "is_backlog", "backlog_source", "clearance_target", "leader_id", "escalation",
               "is_repeat")
FIELD_NAMES = {**{k: v[0] for k, v in FIELDS.items()}, "county_code": "所属县区", "township_code": "所属乡镇",
               "responsible_unit_id": "责任单位", "competent_unit_id": "主管部门", "leader_id": "包案领导",
               "is_collective": "集体访"}


def _named(conn: Connection, table: sa.Table, names: set[str], values: Callable[[str], dict]) -> tuple[dict, list]:
    """Ids of units or leaders by name, creating the missing ones."""
    existing = dict(conn.execute(sa.select(table.c.name, table.c.id).where(table.c.name.in_(sorted(names)))).all())
    created = []
    for name in sorted(names - set(existing)):
        existing[name] = conn.execute(table.insert().values(name=name, **values(name))).inserted_primary_key[0]
        created.append(name)
    return existing, created


def import_ledger(
    conn: Connection, rows: list[list], *, mapping: dict[str, str] | None = None, dry_run: bool = False,
    actor: str = "台账导入", progress: Callable[[float, str], None] | None = None, now: dt.datetime | None = None,
) -> ImportResult:
    """Validate and upsert a ledger's rows. The caller owns the transaction: on any
    exception nothing stays written. With `dry_run` nothing is written at all."""
    header_index, columns = find_header(rows, mapping)
    missing = [FIELDS[k][0] for k in REQUIRED if k not in columns.values()]
    if missing:
        raise LedgerError(f"缺少必需的列：{'、'.join(missing)}。请检查表头，或用列名对照文件指定。")
    header = rows[header_index]
    geography = Geography.load(conn)
    result = ImportResult(dry_run=dry_run)
    seen: dict[str, int] = {}
    valid: list[tuple[int, dict]] = []
    body = rows[header_index + 1:]
    while body and not any(clean(c) for c in body[-1]):  # blank trailing rows
        body.pop()
    for offset, row in enumerate(body):
        line = header_index + offset + 2  # as numbered in the spreadsheet
        if not any(clean(c) for c in row):
            continue
        result.rows += 1
        raw = {key: (row[i] if i < len(row) else None) for i, key in columns.items()}
        values, problems = _validate(raw, geography)
        number = values["case_no"]
        if number and number in seen:
            problems.append(("case_no", number, f"与第 {seen[number]} 行编号重复，已保留第 {seen[number]} 行"))
        elif number:
            seen[number] = line
        if problems:
            for key, value, reason in problems:
                result.rejected.append(Rejection(line, FIELDS.get(key, (key,))[0], value, reason))
            original = {clean(header[i]) or f"列{i + 1}": (row[i] if i < len(row) else None)
                        for i in range(len(header))}
            result.rejected_rows.append({**original, "原行号": line,
                                         "拒绝原因": "；".join(f"{FIELDS.get(k, (k,))[0]}：{r}" for k, _, r in problems)})
            continue
        valid.append((line, values))
        if progress and offset % 2000 == 0:
            progress(0.5 * offset / max(1, len(body)), f"已检查 {offset:,} 行")
    if dry_run:  # report what would happen (new versus already known case numbers)
        known = set()
        numbers = [v["case_no"] for _, v in valid]
        for start in range(0, len(numbers), 5000):
            known |= set(conn.execute(sa.select(cases.c.case_no).where(
                cases.c.case_no.in_(numbers[start:start + 5000]))).scalars())
        result.new = sum(1 for n in numbers if n not in known)
        result.updated = len(numbers) - result.new
        return result
    if not valid:
        return result
    _write(conn, valid, result, actor, progress, now or dt.datetime.now())
    return result


def _write(conn, valid, result, actor, progress, now) -> None:
    from dashboard.deadlines import recompute

    unit_ids, result.new_units = _named(
        conn, units, {v[k] for _, v in valid for k in ("responsible_unit", "competent_unit") if v[k]},
        lambda name: {"kind": "bureau" if name.endswith(("局", "委", "办", "部", "厅", "院")) else "township_gov",
                      "region_code": None})
    leader_ids, result.new_leaders = _named(
        conn, leaders, {v["leader"] for _, v in valid if v["leader"]},
        lambda name: {"title": "", "level": "county", "region_code": None})
    numbers = [v["case_no"] for _, v in valid]
    existing = {}
    for start in range(0, len(numbers), 5000):
        chunk = numbers[start:start + 5000]
        for row in conn.execute(sa.select(cases).where(cases.c.case_no.in_(chunk))).mappings():
            existing[row["case_no"]] = dict(row)
    inserts, updates, events, links = [], [], [], []
    stamp = now.replace(microsecond=0)
    for _, values in valid:
        record = {k: values.get(k) for k in CASE_FIELDS if k in values}
        record["responsible_unit_id"] = unit_ids.get(values["responsible_unit"])
        record["competent_unit_id"] = unit_ids.get(values["competent_unit"])
        record["leader_id"] = leader_ids.get(values["leader"])
        record["is_backlog"] = bool(values.get("is_backlog"))
        record["resolved"] = bool(values.get("resolved"))
        record["is_repeat"] = bool(values.get("is_repeat"))
        old = existing.get(values["case_no"])
        if old is not None:  # a masked export (张**) does not overwrite what is known
            for key in PERSONAL:
                if record.get(key) and "*" in record[key]:
                    record[key] = old.get(key)
        if old is None:
            inserts.append({"case_no": values["case_no"], "track": "general", **record})
            continue
        changed = [k for k in CASE_FIELDS if _differs(old.get(k), record.get(k))]
        if not changed:
            result.unchanged += 1
            continue
        updates.append({"_id": old["id"], **{k: record.get(k) for k in CASE_FIELDS}})
        described = "；".join(
            f"{FIELD_NAMES.get(k, k)}已更新" if k in PERSONAL
            else f"{FIELD_NAMES.get(k, k)}：{_shown(old.get(k))}→{_shown(record.get(k))}" for k in changed)
        events.append({"case_id": old["id"], "kind": "updated", "at": stamp, "actor": actor,
                       "note": f"台账导入更新：{described}"})
    if inserts:
        conn.execute(cases.insert(), inserts)
        ids = {}
        new_numbers = [r["case_no"] for r in inserts]
        for start in range(0, len(new_numbers), 5000):
            ids.update(conn.execute(sa.select(cases.c.case_no, cases.c.id).where(
                cases.c.case_no.in_(new_numbers[start:start + 5000]))).all())
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
        conn.execute(cases.update().where(cases.c.id == sa.bindparam("_id"))
                     .values({k: sa.bindparam(k) for k in CASE_FIELDS}), updates)
    if events:
        conn.execute(case_events.insert(), events)
    if links:
        conn.execute(case_units.insert(), links)
    result.new, result.updated = len(inserts), len(updates)
    if progress:
        progress(0.85, "按时限规则计算期限…")
    touched = [values["case_no"] for _, values in valid]
    for start in range(0, len(touched), 20000):
        recompute(conn, cases.c.case_no.in_(touched[start:start + 20000]))
    if progress:
        progress(1.0, "导入完成")


def _differs(old, new) -> bool:
    if isinstance(old, dt.datetime):
        old = old.date()
    if old is None and new in (None, "", False) and not isinstance(new, bool):
        return False
    return old != new


def _shown(value) -> str:
    if value is None or value == "":
        return "空"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def rejected_csv(result: ImportResult) -> bytes:
    """The refused rows with their reasons, as CSV (UTF-8 with BOM) to fix and re-import."""
    frame = pd.DataFrame(result.rejected_rows)
    return ("\ufeff" + frame.to_csv(index=False)).encode("utf-8")


# ------------------------------------------------------------ export


def ledger_frame(conn: Connection, case_ids: list[int] | None = None, *, masked: bool = True) -> pd.DataFrame:
    """Cases with the Chinese ledger headers of domain.md §7 (importable again).
    Personal data is masked unless `masked` is False."""
    from dashboard.privacy import mask_id_no, mask_name, mask_phone

    county = regions.alias("county")
    township = regions.alias("township")
    responsible = units.alias("responsible")
    competent = units.alias("competent")
    stmt = (
        sa.select(cases, county.c.name.label("county_name"), township.c.name.label("township_name"),
                  responsible.c.name.label("responsible_name"), competent.c.name.label("competent_name"),
                  leaders.c.name.label("leader_name"))
        .select_from(cases.join(county, county.c.code == cases.c.county_code)
                     .outerjoin(township, township.c.code == cases.c.township_code)
                     .outerjoin(responsible, responsible.c.id == cases.c.responsible_unit_id)
                     .outerjoin(competent, competent.c.id == cases.c.competent_unit_id)
                     .outerjoin(leaders, leaders.c.id == cases.c.leader_id))
        .order_by(cases.c.case_no)
    )
    rows = pd.DataFrame()
    if case_ids is None:
        rows = pd.DataFrame(conn.execute(stmt).mappings().all())
    else:
        parts = [pd.DataFrame(conn.execute(stmt.where(cases.c.id.in_(case_ids[i:i + 5000]))).mappings().all())
                 for i in range(0, len(case_ids), 5000)]
        rows = pd.concat(parts, ignore_index=True) if parts else rows
        rows = rows.sort_values("case_no").reset_index(drop=True) if not rows.empty else rows
    if not rows.empty and masked:
        rows["petitioner_name"] = rows["petitioner_name"].map(mask_name)
        rows["petitioner_phone"] = rows["petitioner_phone"].map(mask_phone)
        rows["petitioner_id_no"] = rows["petitioner_id_no"].map(mask_id_no)
    if rows.empty:
        return pd.DataFrame(columns=[FIELDS[k][0] for k in FIELDS])

    def yes(series):
        return series.map(lambda v: "是" if v else "否")

    def label_of(mapping):
        return lambda v: mapping.get(v, "") if isinstance(v, str) else ""

    return pd.DataFrame({
        "信访件编号": rows["case_no"], "登记日期": rows["registered_on"],
        "信访形式": rows["channel"].map(label_of(CHANNELS)), "信访人": rows["petitioner_name"],
        "联系电话": rows["petitioner_phone"], "身份证号": rows["petitioner_id_no"], "人数": rows["persons"],
        "所属县区": rows["county_name"], "所属乡镇": rows["township_name"],
        "问题类别": rows["domain"].map(label_of(DOMAINS)), "诉求摘要": rows["summary"],
        "责任单位": rows["responsible_name"], "主管部门": rows["competent_name"], "受理日期": rows["accepted_on"],
        "办理期限": rows["handling_due"], "答复日期": rows["replied_on"], "办结日期": rows["closed_on"],
        "是否化解": yes(rows["resolved"]), "化解日期": rows["resolved_on"],
        "满意度": rows["satisfaction"].map(label_of(SATISFACTION)), "是否积案": yes(rows["is_backlog"]),
        "积案来源": rows["backlog_source"].map(label_of(BACKLOG_SOURCES)),
        "化解目标日期": rows["clearance_target"], "包案领导": rows["leader_name"],
        "越级情况": rows["escalation"].map(label_of(ESCALATION)), "是否重复": yes(rows["is_repeat"]),
    })
