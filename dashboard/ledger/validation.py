"""Validation of one row: every field parsed and checked (required, dates in range,
counts, codes, regions, lengths within the database's columns) so that one bad cell
refuses one row, with its reason in Chinese; personal data never in a reason."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.ledger.fields import (
    BOOL_FIELDS,
    CODE_LABELS,
    DATE_FIELDS,
    FIELDS,
    REQUIRED,
    TRUE_WORDS,
    clean,
    clean_text,
    fold,
    name_key,
)
from dashboard.ledger.mapping import word_key
from dashboard.ledger.parsing import MAX_PERSONS, parse_bool, parse_code, parse_count, parse_date
from dashboard.ledger.reading import Formula
from dashboard.models import cases, leaders, regions, units
from dashboard.privacy import mask_id_no, mask_name, mask_phone

EARLIEST = dt.date(1990, 1, 1)
DEADLINES = ("handling_due", "clearance_target")  # may lie ahead (up to a margin)
# Coded columns whose unknown words are kept as written (with a warning); the others
# (信访形式, 问题类别: required; 办理程序: it decides the deadlines) refuse the row.
KEEP_UNKNOWN = ("satisfaction", "backlog_source", "escalation")
# Longest text of each field: the database column's length (SQLite would store more,
# PostgreSQL would refuse the whole import).
LENGTHS = {
    "case_no": cases.c.case_no.type.length, "petitioner_name": cases.c.petitioner_name.type.length,
    "petitioner_phone": cases.c.petitioner_phone.type.length,
    "petitioner_id_no": cases.c.petitioner_id_no.type.length,
    "responsible_unit": units.c.name.type.length, "competent_unit": units.c.name.type.length,
    "leader": leaders.c.name.type.length,
    **{key: cases.c[key].type.length for key in KEEP_UNKNOWN},
}
MASKS = {"petitioner_name": mask_name, "petitioner_phone": mask_phone, "petitioner_id_no": mask_id_no}
FORMULA_REASON = "公式单元格没有保存计算结果：请在 Excel 中打开文件并保存，或复制该列后“选择性粘贴为数值”"


def shown_value(key: str, value) -> str:
    """A cell's value as a reason or a rejected-rows file may show it: personal data
    masked, very long text cut."""
    if isinstance(value, Formula):
        return "（公式）"
    text = clean(value)
    if key in MASKS:
        return MASKS[key](text)
    return text if len(text) <= 60 else text[:60] + "…"


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


@functools.lru_cache(maxsize=16)
def _latest_dates(today: dt.date, margin_days: int) -> dict[str, dt.date]:
    """The latest acceptable date of each date field (deadlines may lie ahead); the same
    for every row of an import, so worked out once."""
    return {key: today + dt.timedelta(days=margin_days) if key in DEADLINES else today for key in DATE_FIELDS}


def validate_row(raw: dict[str, object], geography: Geography, values: dict | None = None,
                 today: dt.date | None = None) -> tuple[dict, list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """A row's values as case fields, its problems (field, value, reason) that refuse
    it and its warnings (field, value, reason) that do not. `values` is the mapping
    file's {field: {word: code}}; values in problems and warnings are `shown_value`s."""
    latest = _latest_dates(today or config.today(), config.import_deadline_margin_days())
    problems: list[tuple[str, str, str]] = []
    warnings: list[tuple[str, str, str]] = []
    out: dict[str, object] = {}
    formulas = {key for key, value in raw.items() if isinstance(value, Formula)}
    text = {key: clean(value) for key, value in raw.items()}  # each cell cleaned once

    def bad(key: str, reason: str) -> None:
        problems.append((key, shown_value(key, raw.get(key)), reason))

    for key in sorted(formulas, key=list(FIELDS).index):
        bad(key, FORMULA_REASON)
    for key, value in raw.items():  # PostgreSQL refuses NUL in text (a whole import would fail)
        if isinstance(value, str) and "\x00" in value:
            bad(key, "含有不可见的控制字符（NUL），请重新输入该单元格")
            text[key] = text[key].replace("\x00", "")
    for key in REQUIRED:
        if not text.get(key) and key not in formulas:
            bad(key, "必填项为空")
    out["case_no"] = fold(raw.get("case_no"))
    for key in DATE_FIELDS:
        out[key] = None
        if not text.get(key):
            continue
        try:
            day = parse_date(raw.get(key))
        except (ValueError, TypeError, OverflowError):
            bad(key, "日期无法识别，请写成 2026-03-05")
            continue
        if day is not None and not EARLIEST <= day <= latest[key]:
            bad(key, f"日期 {day.isoformat()} 超出合理范围（{EARLIEST.isoformat()} 至 {latest[key].isoformat()}），"
                "请检查年份")
            continue
        out[key] = day
    for key in BOOL_FIELDS:
        try:
            out[key] = parse_bool(text.get(key, ""))
        except ValueError:
            bad(key, "应为 是/否")
    for key, labels in CODE_LABELS.items():
        if key in formulas or (key in REQUIRED and not text.get(key)):
            continue
        word = text.get(key, "")
        mapped = (values or {}).get(key) or {}
        found = {word_key(w): c for w, c in mapped.items()}.get(word_key(word), ...) if mapped else ...
        if found is not ...:
            out[key] = found
            continue
        try:
            out[key] = parse_code(key, word)
        except ValueError:
            choices = "、".join(labels.values())
            if key == "escalation" and fold(word).lower() in TRUE_WORDS:  # a 是否越级 column
                bad(key, "只写“是”不能区分赴省还是进京：请填写 赴省 或 进京（未越级填 否 或 无）")
            elif key in KEEP_UNKNOWN and len(word) <= LENGTHS[key]:
                out[key] = word  # kept as written: never drop what the county wrote
                warnings.append((key, shown_value(key, word), f"未识别的写法，已按原文保存；可在值对照中指定为：{choices}"))
            elif key in KEEP_UNKNOWN:
                bad(key, f"无法识别且超过 {LENGTHS[key]} 个字，可填：{choices}")
            else:
                bad(key, f"无法识别，可填：{choices}（或在值对照中指定）")
    try:
        out["persons"] = parse_count(raw.get("persons") if "persons" not in formulas else None)
    except (ValueError, TypeError, OverflowError):
        bad("persons", f"人数应为 1 至 {MAX_PERSONS:,} 的整数")
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
    for key in ("case_no", "petitioner_name", "petitioner_phone", "petitioner_id_no", "responsible_unit",
                "competent_unit", "leader"):
        if out.get(key) and len(out[key]) > LENGTHS[key]:
            bad(key, f"长度 {len(out[key])} 个字，超过 {LENGTHS[key]} 个字的上限")
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
    # 集体访: a visit (来访) of five or more persons; letters and online cases with five names are not
    out["is_collective"] = out.get("channel") == "visit" and (out.get("persons") or 1) >= 5
    out["escalation"] = out.get("escalation") or "none"
    return out, problems, warnings


def unknown_words(rows: list[list], header_row: int, columns: dict[int, str],
                  values: dict | None = None) -> dict[str, dict[str, int]]:
    """Words of the coded columns that are neither built in nor in `values`, per field,
    with how many rows write each (the page's value-mapping step)."""
    found: dict[str, dict[str, int]] = {}
    coded = {i: key for i, key in columns.items() if key in CODE_LABELS}
    known = {key: {word_key(w) for w in (values or {}).get(key, {})} for key in CODE_LABELS}
    for row in rows[header_row + 1:]:
        for i, key in coded.items():
            if i >= len(row) or isinstance(row[i], Formula):
                continue
            word = clean(row[i])
            if not word or word_key(word) in known[key]:
                continue
            try:
                parse_code(key, word)
            except ValueError:
                if not (key == "escalation" and fold(word).lower() in TRUE_WORDS):
                    found.setdefault(key, {})
                    found[key][word] = found[key].get(word, 0) + 1
    return found
