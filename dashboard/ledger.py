"""Ledger import (信访事项台账, domain.md §7): read a spreadsheet as bureaus really send
it, map its columns, validate every row, and upsert the valid rows by case number in
one transaction. Rejected rows are reported (row, column, value, reason, in Chinese)
and written to a file that can be fixed and imported again."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import functools
import io
import json
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
from dashboard.db import read_frame
from dashboard.exports import safe_frame, unneutralise
from dashboard.labels import BACKLOG_SOURCES, CHANNELS, DOMAINS, ESCALATION, SATISFACTION, TRACKS
from dashboard.models import case_events, case_units, cases, leaders, regions, units

# field -> (header of domain.md §7, aliases). Required fields are listed below.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case_no": ("信访件编号", ("编号", "信访编号", "件号", "信访件号", "事项编号", "案件编号")),
    "registered_on": ("登记日期", ("登记时间", "信访日期", "来信来访日期", "收件日期")),
    "channel": ("信访形式", ("信访方式", "来源", "信访渠道")),
    "track": ("办理程序", ("程序类型", "适用程序", "办理程序类型")),
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
                "信": "letter", "访": "visit", "走访": "visit", "12345": "phone", "电话信访": "phone", "电话": "phone",
                "书记信箱": "mailbox", "市长信箱": "mailbox"},
    "domain": {**{v: k for k, v in DOMAINS.items()}, "劳动和社会保障": "labor", "城乡建设": "housing",
               "国土资源": "land", "环境保护": "environment", "医疗卫生": "health", "非法集资": "finance"},
    "satisfaction": {**{v: k for k, v in SATISFACTION.items()}, "": None, "未评价": None},
    "escalation": {**{v: k for k, v in ESCALATION.items()}, "": "none", "否": "none", "赴京": "beijing",
                   "到省": "province"},
    "backlog_source": {**{v: k for k, v in BACKLOG_SOURCES.items()}, "": None, "国家信访局交办": "national",
                       "省信访局交办": "province", "省交办": "province", "本级排查": "local"},
    # an empty cell keeps a known case's track (a new case gets 一般程序)
    "track": {**{v: k for k, v in TRACKS.items()}, "": None, "一般": "general", "简易": "simple",
              "咨询": "consultation", "咨询类": "consultation", "建议": "consultation", "绿色": "green"},
}
CODE_LABELS = {"channel": CHANNELS, "domain": DOMAINS, "satisfaction": SATISFACTION, "escalation": ESCALATION,
               "backlog_source": BACKLOG_SOURCES, "track": TRACKS}


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
    """Text of a cell as given: full-width spaces and stray whitespace normalised,
    punctuation (，；（）) kept. Used for names; see `fold` for numbers and codes."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())  # str.split() splits on every Unicode space (U+3000 too)


def clean_text(value) -> str:
    """Free text (诉求摘要): like `clean`, but line breaks inside the cell are kept."""
    if value is None:
        return ""
    lines = (" ".join(line.split()) for line in str(value).splitlines())
    return "\n".join(line for line in lines if line)


def fold(value) -> str:
    """Digits, dates, codes, booleans and case numbers: full-width forms folded too
    (２０２１年３月５日 → 2021年3月5日, ＹＸ－０１ → YX-01)."""
    text = clean(value)
    return text if text.isascii() else clean(unicodedata.normalize("NFKC", text))


def name_key(value) -> str:
    """Key to match a unit, leader or region name: `临江县住建局（人防办）` and
    `临江县住建局(人防办)`, `钟楼 街道` and `钟楼街道` are the same name."""
    return "".join(unicodedata.normalize("NFKC", clean(value)).split()).casefold()


def _blank(row) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in row)


def _header_key(text) -> str:
    return re.sub(r"[\s*:]", "", fold(text)).lower()  # NFKC has folded ＊ and ：


HEADER_INDEX = {
    _header_key(name): key
    for key, (header, aliases) in FIELDS.items()
    for name in (header, key, *aliases)
}
IGNORED = ("", "（不导入）", "(不导入)", "不导入", "ignore", "-")  # mapping values: do not import the column
BLANK_HEADER = re.compile(r"^第(\d+)列$")


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


def _read_csv(data: bytes, name: str, encoding: str | None, headers=None) -> list[list]:
    """A CSV's rows. `headers` are header names (as `_header_key`) that tell the
    delimiter apart; the ledger's own by default."""
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
    return list(csv.reader(io.StringIO(text), delimiter=_delimiter(text, headers or HEADER_INDEX)))


def _delimiter(text: str, headers) -> str:
    """The delimiter under which some early line reads as the most known headers (the
    sniffer alone is misled by a title line or by commas and semicolons in the text)."""
    lines = text[:65536].splitlines()[:30]
    scores = {}
    for delimiter in (",", "\t", ";"):
        scores[delimiter] = max((sum(1 for cell in row if _header_key(cell) in headers)
                                 for row in csv.reader(lines, delimiter=delimiter)), default=0)
    best = max(scores, key=lambda d: scores[d])  # ties: the order above (comma first)
    if scores[best] >= 2:
        return best
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def find_header(rows: list[list], mapping: dict[str, str] | None = None) -> tuple[int, dict[int, str]]:
    """The header row (index) and column index -> field, skipping title rows.
    `mapping` (原表头 -> field) adds header names and overrides the built-in ones; a
    header mapped to "" (or （不导入）) is not imported; `第N列` names a column whose
    header cell is blank."""
    extra = {_header_key(k): ("" if v in IGNORED else v) for k, v in (mapping or {}).items()}
    by_position = {int(m.group(1)) - 1: field for k, field in extra.items()
                   if (m := BLANK_HEADER.match(k)) and field}
    best = (-1, {})
    for index, row in enumerate(rows[:30]):
        found = {}
        for column, cell in enumerate(row):
            key = _header_key(cell) if cell is not None else ""
            target = extra[key] if key in extra else HEADER_INDEX.get(key)
            if target and target not in found.values():
                found[column] = target
        named = len(found)
        for column, target in by_position.items():  # only blank cells of a row with named headers
            if named and column < len(row) and not clean(row[column]) and target not in found.values():
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
    """A mapping file: TOML or YAML with a `columns` table {"原表头": "field"}
    ("" for a column not to import)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LedgerError(f"找不到列名对照文件 {path}，请检查路径。") from None
    except (OSError, UnicodeDecodeError):
        raise LedgerError(f"列名对照文件 {path.name} 无法读取（应为 UTF-8 文本的 TOML 或 YAML）。") from None
    example = '例如：\n[columns]\n"流水号" = "case_no"\n"收件日" = "registered_on"'
    import yaml

    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            loaded = yaml.safe_load(text) or {}
        else:
            loaded = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:  # say where, not how
        mark = getattr(error, "problem_mark", None)
        found = re.search(r"line (\d+)", str(error))
        line = mark.line + 1 if mark is not None else int(found.group(1)) if found else None
        where = f"（第 {line} 行附近）" if line else ""
        raise LedgerError(f"列名对照文件 {path.name} 格式有误{where}，无法读取。{example}") from None
    columns = loaded.get("columns", loaded) if isinstance(loaded, dict) else None
    if not isinstance(columns, dict) or not all(isinstance(v, str | None) for v in columns.values()):
        raise LedgerError(f"列名对照文件 {path.name} 应为“原表头 = 字段名”的对照表。{example}")
    columns = {str(k): v or "" for k, v in columns.items()}
    unknown = sorted(set(columns.values()) - set(FIELDS) - set(IGNORED))
    if unknown:
        raise LedgerError(f"对照文件 {path.name} 中有未知字段：{'、'.join(unknown)}。可用字段：{'、'.join(FIELDS)}。")
    return columns


def mapping_toml(mapping: dict[str, str]) -> str:
    """A mapping as a TOML file the importer reads back ("" = not imported)."""
    lines = ["# 列名对照：原表头 = 字段名（字段名见 README；\"\" 表示该列不导入；第N列 指表头为空的列）",
             "[columns]"]
    lines += [f"{json.dumps(k, ensure_ascii=False)} = {json.dumps(v, ensure_ascii=False)}" for k, v in mapping.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ values

EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


@functools.lru_cache(maxsize=65536, typed=True)
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
    text = fold(value)
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


@functools.lru_cache(maxsize=4096)
def parse_bool(value) -> bool:
    text = re.sub(r"\s+", "", fold(value)).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError


@functools.lru_cache(maxsize=4096)
def parse_code(kind: str, value) -> str | None:
    text = re.sub(r"\s+", "", fold(value))
    words = CODE_WORDS[kind]
    if text in words:
        return words[text]
    if text.lower() in {code for code in words.values() if code}:
        return text.lower()
    raise ValueError


# ------------------------------------------------------------ validation and writing


class Geography:
    """Counties and townships of the database, found by code or by name (whitespace
    and full-width forms ignored: `钟楼 街道` is 钟楼街道)."""

    def __init__(self, rows) -> None:
        self.names = {r.code: r.name for r in rows}
        self.counties = {r.code: r.name for r in rows if r.level == "county"}
        self.townships = {r.code: (r.name, r.parent_code) for r in rows if r.level == "township"}
        self._county_keys: dict[str, list[str]] = {}
        for code, name in self.counties.items():
            self._county_keys.setdefault(name_key(name), []).append(code)
        self._township_keys: dict[str, list[tuple[str, str]]] = {}
        for code, (name, parent) in self.townships.items():
            self._township_keys.setdefault(name_key(name), []).append((code, parent))
        self._memo: dict[tuple, tuple[str | None, str | None]] = {}  # ledgers repeat the same names

    @classmethod
    def load(cls, conn: Connection) -> Geography:
        return cls(conn.execute(sa.select(regions.c.code, regions.c.name, regions.c.level,
                                          regions.c.parent_code)).all())

    def county(self, text: str) -> str:
        return self._remembered(("county", text, None), self._county)

    def township(self, text: str, county: str | None) -> str | None:
        return self._remembered(("township", text, county), self._township)

    def _remembered(self, key: tuple, find: Callable) -> str | None:
        if key not in self._memo:
            try:
                self._memo[key] = (find(*key[1:]), None)
            except ValueError as error:
                self._memo[key] = (None, str(error))
        code, problem = self._memo[key]
        if problem:
            raise ValueError(problem)
        return code

    def _county(self, text: str, _) -> str:
        if fold(text) in self.counties:
            return fold(text)
        matches = self._county_keys.get(name_key(text), [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValueError(f"县区名称“{text}”重名，请改填区划代码")
        raise ValueError(self._suggest(text, self.counties.values(), "县区"))

    def _township(self, text: str, county: str | None) -> str | None:
        if not text:
            return None
        if fold(text) in self.townships:
            return fold(text)
        matches = [code for code, parent in self._township_keys.get(name_key(text), [])
                   if county is None or parent == county]
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
    text = {key: clean(value) for key, value in raw.items()}  # each cell cleaned once

    def bad(key: str, reason: str) -> None:
        problems.append((key, text.get(key, ""), reason))

    for key in REQUIRED:
        if not text.get(key):
            bad(key, "必填项为空")
    out["case_no"] = fold(raw.get("case_no"))
    for key in DATE_FIELDS:
        try:
            out[key] = parse_date(raw.get(key)) if text.get(key) else None
        except (ValueError, TypeError, OverflowError):
            bad(key, "日期无法识别，请写成 2026-03-05")
    for key in BOOL_FIELDS:
        try:
            out[key] = parse_bool(text.get(key, ""))
        except ValueError:
            bad(key, "应为 是/否")
    for key, labels in CODE_LABELS.items():
        if key in REQUIRED and not text.get(key):
            continue
        try:
            out[key] = parse_code(key, text.get(key, ""))
        except ValueError:
            if key == "escalation" and fold(text[key]).lower() in TRUE_WORDS:  # a 是否越级 column
                bad(key, "只写“是”不能区分赴省还是进京：请填写 赴省 或 进京（未越级填 否 或 无）")
            else:
                bad(key, f"无法识别，可填：{'、'.join(labels.values())}")
    persons = fold(text.get("persons")) or "1"
    try:
        out["persons"] = max(1, int(float(persons)))
    except (ValueError, OverflowError):
        bad("persons", "人数应为整数")
    county_text = text.get("county", "")
    county = None
    if county_text:
        try:
            county = geography.county(county_text)
        except ValueError as error:
            bad("county", str(error))
    out["county_code"] = county
    try:
        out["township_code"] = geography.township(text.get("township", ""), county)
        if out["township_code"] and county and geography.townships[out["township_code"]][1] != county:
            bad("township", "乡镇不属于所填县区")
    except ValueError as error:
        bad("township", str(error))
    for key in ("petitioner_name", "responsible_unit", "competent_unit", "leader"):
        out[key] = text.get(key) or None  # names as given (matched by `name_key`)
    for key in ("petitioner_phone", "petitioner_id_no"):
        out[key] = fold(text.get(key)) or None
    out["summary"] = clean_text(raw.get("summary")) or None
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


CASE_FIELDS = ("registered_on", "channel", "track", "petitioner_name", "petitioner_phone", "petitioner_id_no",
               "persons", "is_collective", "county_code", "township_code", "domain", "summary",
               "responsible_unit_id", "competent_unit_id", "accepted_on", "replied_on", "closed_on", "resolved",
               "resolved_on", "satisfaction", "is_backlog", "backlog_source", "clearance_target", "leader_id",
               "escalation", "is_repeat")
# The ledger columns a case column is read from: a column the file does not have
# leaves that field of a known case as it is.
SOURCES = {"county_code": ("county",), "township_code": ("township",), "responsible_unit_id": ("responsible_unit",),
           "competent_unit_id": ("competent_unit",), "leader_id": ("leader",), "is_collective": ("persons",),
           "resolved": ("resolved", "resolved_on"), "resolved_on": ("resolved_on", "resolved")}
FIELD_NAMES = {**{k: v[0] for k, v in FIELDS.items()}, "county_code": "所属县区", "township_code": "所属乡镇",
               "responsible_unit_id": "责任单位", "competent_unit_id": "主管部门", "leader_id": "包案领导",
               "is_collective": "集体访"}


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
    while body and _blank(body[-1]):  # blank trailing rows
        body.pop()
    if all(_blank(row) for row in body):
        raise LedgerError(f"文件只有表头（第 {header_index + 1} 行），没有数据行。"
                          "请检查是否导出了空台账，或数据是否在第一个工作表中。")
    for offset, row in enumerate(body):
        line = header_index + offset + 2  # as numbered in the spreadsheet
        if progress and offset % 5000 == 0:
            progress(0.5 * offset / len(body), f"已检查 {offset:,} 行")
        if _blank(row):
            continue
        result.rows += 1
        raw = {key: unneutralise(row[i]) if i < len(row) else None for i, key in columns.items()}
        values, problems = _validate(raw, geography)
        number = values["case_no"]
        if number and number in seen:
            problems.append(("case_no", number, f"与第 {seen[number]} 行编号重复，已保留第 {seen[number]} 行"))
        elif number:
            seen[number] = line
        if problems:
            for key, value, reason in problems:
                result.rejected.append(Rejection(line, FIELDS.get(key, (key,))[0], value, reason))
            original = {name: (row[i] if i < len(row) else None) for i, name in enumerate(header)}
            result.rejected_rows.append({**original, "原行号": line,
                                         "拒绝原因": "；".join(f"{FIELDS.get(k, (k,))[0]}：{r}" for k, _, r in problems)})
            continue
        valid.append((line, values))
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


def header_names(row: list) -> list[str]:
    """Names of a header row's columns (blank ones as 第N列, repeated ones numbered),
    as the page shows them and as the rejected-rows file writes them."""
    names: list[str] = []
    for i, cell in enumerate(row):
        name = clean(cell) or f"第{i + 1}列"
        names.append(name if name not in names else f"{name}（第{i + 1}列）")
    return names


def _write(conn, valid, result, present, geography, actor, progress, stamp, recompute_deadlines=True) -> None:
    from dashboard.deadlines import recompute

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
        conn.execute(cases.insert(), inserts)
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
        conn.execute(cases.update().where(cases.c.id == sa.bindparam("_id"))
                     .values({k: sa.bindparam(k) for k in CASE_FIELDS}), updates)
    for case_id, role, unit_id, responsible in relinks:  # 一事双交 follows the new units
        conn.execute(case_units.delete().where(case_units.c.case_id == case_id, case_units.c.role == role))
        if unit_id and not (role == "competent" and unit_id == responsible):
            links.append({"case_id": case_id, "unit_id": unit_id, "role": role})
    if events:
        conn.execute(case_events.insert(), events)
    if links:
        conn.execute(case_units.insert(), links)
    result.new, result.updated = len(inserts), len(updates)
    if not recompute_deadlines:
        return
    if progress:
        progress(0.85, "按时限规则计算期限…")
    if inserts:  # the new cases are the ones above the largest id known before
        recompute(conn, cases.c.id > last_id)
    updated_ids = sorted(u["_id"] for u in updates)
    for start in range(0, len(updated_ids), 20000):
        recompute(conn, cases.c.id.in_(updated_ids[start:start + 20000]))
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
        rows = read_frame(conn, stmt)
    else:
        parts = [read_frame(conn, stmt.where(cases.c.id.in_(case_ids[i:i + 5000])))
                 for i in range(0, len(case_ids), 5000)]
        rows = pd.concat(parts, ignore_index=True) if parts else rows
        rows = rows.sort_values("case_no").reset_index(drop=True) if not rows.empty else rows
    if not rows.empty and masked:
        for key, mask in (("petitioner_name", mask_name), ("petitioner_phone", mask_phone),
                          ("petitioner_id_no", mask_id_no)):
            rows[key] = rows[key].map(lambda v, mask=mask: mask(v) if isinstance(v, str) else "")
    if rows.empty:
        return pd.DataFrame(columns=[FIELDS[k][0] for k in FIELDS])

    def yes(series):
        return series.map(lambda v: "是" if v else "否")

    def label_of(key):
        return rows[key].map(lambda v: CODE_LABELS[key].get(v, "") if isinstance(v, str) else "")

    columns = {
        "case_no": rows["case_no"], "registered_on": rows["registered_on"], "channel": label_of("channel"),
        "track": label_of("track"), "petitioner_name": rows["petitioner_name"],
        "petitioner_phone": rows["petitioner_phone"], "petitioner_id_no": rows["petitioner_id_no"],
        "persons": rows["persons"], "county": rows["county_name"], "township": rows["township_name"],
        "domain": label_of("domain"), "summary": rows["summary"], "responsible_unit": rows["responsible_name"],
        "competent_unit": rows["competent_name"], "accepted_on": rows["accepted_on"],
        "handling_due": rows["handling_due"], "replied_on": rows["replied_on"], "closed_on": rows["closed_on"],
        "resolved": yes(rows["resolved"]), "resolved_on": rows["resolved_on"],
        "satisfaction": label_of("satisfaction"), "is_backlog": yes(rows["is_backlog"]),
        "backlog_source": label_of("backlog_source"), "clearance_target": rows["clearance_target"],
        "leader": rows["leader_name"], "escalation": label_of("escalation"), "is_repeat": yes(rows["is_repeat"]),
    }
    return pd.DataFrame({FIELDS[key][0]: columns[key] for key in FIELDS})
