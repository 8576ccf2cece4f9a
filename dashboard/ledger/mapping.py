"""Mapping a ledger's columns and words to the product's fields and codes: the header
row (skipping title rows), a mapping file (TOML or YAML: `[columns]` 原表头 = 字段名 and
`[values.<field>]` 写法 = 代码) and the file the page saves."""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from pathlib import Path

from dashboard.ledger.fields import (
    BLANK_HEADER,
    CODE_LABELS,
    FIELDS,
    HEADER_INDEX,
    IGNORED,
    REQUIRED,
    LedgerError,
    clean,
    header_key,
)


def find_header(rows: list[list], mapping: dict[str, str] | None = None) -> tuple[int, dict[int, str]]:
    """The header row (index) and column index -> field, skipping title rows.
    `mapping` (原表头 -> field) adds header names and overrides the built-in ones; a
    header mapped to "" (or （不导入）) is not imported; `第N列` names a column whose
    header cell is blank."""
    extra = {header_key(k): ("" if v in IGNORED else v) for k, v in (mapping or {}).items()}
    by_position = {int(m.group(1)) - 1: field for k, field in extra.items()
                   if (m := BLANK_HEADER.match(k)) and field}
    best = (-1, {})
    for index, row in enumerate(rows[:30]):
        found = {}
        for column, cell in enumerate(row):
            key = header_key(cell) if cell is not None else ""
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
    """A mapping file's columns: TOML or YAML with a `columns` table {"原表头": "field"}
    ("" for a column not to import). Its `[values.<field>]` tables: `load_values`."""
    path = Path(path)
    loaded = _load(path)
    example = '例如：\n[columns]\n"流水号" = "case_no"\n"收件日" = "registered_on"'
    if isinstance(loaded, dict) and "columns" not in loaded and "values" in loaded:
        return {}
    columns = loaded.get("columns", loaded) if isinstance(loaded, dict) else None
    if not isinstance(columns, dict) or not all(isinstance(v, str | None) for v in columns.values()):
        raise LedgerError(f"列名对照文件 {path.name} 应为“原表头 = 字段名”的对照表。{example}")
    columns = {str(k): v or "" for k, v in columns.items()}
    unknown = sorted(set(columns.values()) - set(FIELDS) - set(IGNORED))
    if unknown:
        raise LedgerError(f"对照文件 {path.name} 中有未知字段：{'、'.join(unknown)}。可用字段：{'、'.join(FIELDS)}。")
    return columns


def load_values(path: str | Path) -> dict[str, dict[str, str | None]]:
    """A mapping file's `[values.<field>]` tables (field as key or as Chinese header):
    {field: {word as written: code}}; the code may be written as its Chinese label, ""
    means empty (optional columns only)."""
    path = Path(path)
    loaded = _load(path)
    tables = loaded.get("values", {}) if isinstance(loaded, dict) else {}
    example = '例如：\n[values.channel]\n"网上来信" = "online"'
    if not isinstance(tables, dict):
        raise LedgerError(f"对照文件 {path.name} 的 values 应为“[values.字段名] 写法 = 代码”的对照表。{example}")
    by_header = {header: key for key, (header, _) in FIELDS.items()}
    values: dict[str, dict[str, str | None]] = {}
    for name, table in tables.items():
        key = by_header.get(name, name)
        if key not in CODE_LABELS:
            raise LedgerError(f"对照文件 {path.name} 中 [values.{name}] 不是代码列。可对照写法的列："
                              + "、".join(f"{k}（{FIELDS[k][0]}）" for k in CODE_LABELS) + "。")
        if not isinstance(table, dict) or not all(isinstance(v, str | None) for v in table.values()):
            raise LedgerError(f"对照文件 {path.name} 中 [values.{name}] 应为“写法 = 代码”。{example}")
        values[key] = {}
        for word, target in table.items():
            values[key][str(word)] = code_of(key, target or "", path.name, str(word))
    return values


def code_of(key: str, target: str, where: str, word: str) -> str | None:
    """A code given as code or label ("" = empty, optional columns only)."""
    labels = CODE_LABELS[key]
    if target in labels:
        return target
    by_label = {label: code for code, label in labels.items()}
    if target in by_label:
        return by_label[target]
    if not target and key not in REQUIRED:
        return None
    raise LedgerError(f"对照文件 {where} 中 {FIELDS[key][0]} 的写法“{word[:40]}”对应到未知代码“{target[:40]}”。"
                      f"可用代码：{'、'.join(f'{c}（{v}）' for c, v in labels.items())}。")


def word_key(value) -> str:
    """How a word of a coded column is compared: full-width folded, spaces removed,
    case ignored (`网上 信访`, `网上信访 `, `ＥＭＳ` and `ems` are one word each)."""
    return "".join(unicodedata.normalize("NFKC", clean(value)).split()).casefold()


def _load(path: Path):
    """A mapping file's content (TOML or YAML), or LedgerError saying where it is wrong."""
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
    return loaded


def mapping_toml(mapping: dict[str, str], values: dict[str, dict[str, str | None]] | None = None) -> str:
    """A mapping as a TOML file the importer reads back ("" = not imported), with the
    words of coded columns (`values`: field -> {word: code}) if any."""
    lines = ["# 列名对照：原表头 = 字段名（字段名见 README；\"\" 表示该列不导入；第N列 指表头为空的列）",
             "[columns]"]
    lines += [f"{json.dumps(k, ensure_ascii=False)} = {json.dumps(v, ensure_ascii=False)}" for k, v in mapping.items()]
    for key, words in (values or {}).items():
        if not words:
            continue
        lines += ["", f"# {FIELDS[key][0]}：表中写法 = 代码（"
                  + "、".join(f"{c} {label}" for c, label in CODE_LABELS[key].items()) + "）", f"[values.{key}]"]
        lines += [f"{json.dumps(w, ensure_ascii=False)} = {json.dumps(c or '', ensure_ascii=False)}"
                  for w, c in words.items()]
    return "\n".join(lines) + "\n"


def header_names(row: list) -> list[str]:
    """Names of a header row's columns (blank ones as 第N列, repeated ones numbered),
    as the page shows them and as the rejected-rows file writes them."""
    names: list[str] = []
    for i, cell in enumerate(row):
        name = clean(cell) or f"第{i + 1}列"
        names.append(name if name not in names else f"{name}（第{i + 1}列）")
    return names

