"""Safe exports: what every Excel/CSV file the product writes goes through.

`csv_bytes` and `excel_bytes` build the files of every download button
(`pages/widgets.download_buttons`); they are plain functions so the files can be
tested, and re-imported, without Streamlit."""

from __future__ import annotations

import csv
import io

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Keep spreadsheet programs from running cell text as a formula (CSV/formula
    injection): such text gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


def unneutralise(value):
    """The inverse of `neutralise`, for files the product exported and gets back:
    `'=SUM(1)` is read as `=SUM(1)`. Other apostrophes are left alone."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table with every formula-like cell and header neutralised."""
    safe = frame.map(neutralise) if not frame.empty else frame.copy()
    safe.columns = [neutralise(column) for column in frame.columns]
    return safe


def csv_bytes(frame: pd.DataFrame, caption: str) -> bytes:
    """CSV in UTF-8 with BOM (so Excel opens Chinese correctly): the caption (the
    filters) on the first line, then the header and the rows."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([neutralise(caption)])
    safe_frame(frame).to_csv(buffer, index=False, lineterminator="\n")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def excel_bytes(frame: pd.DataFrame, caption: str) -> bytes:
    """An .xlsx workbook: the caption in A1, the table from row 3 (sheet 数据)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe_frame(frame).to_excel(writer, index=False, startrow=2, sheet_name="数据")
        writer.sheets["数据"].cell(row=1, column=1, value=neutralise(caption))
    return buffer.getvalue()
