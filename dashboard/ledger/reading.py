"""Reading a ledger file (.xlsx, .xls, .csv) into rows of raw cell values, within hard
limits checked before and while parsing: the file's size; for .xlsx the unpacked size
and compression ratio of its parts (from the zip's directory, nothing unpacked yet);
rows and columns counted as they are read (a sheet's declared size is ignored)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from dashboard import config
from dashboard.ledger.fields import HEADER_INDEX, LedgerError, header_key

MB = 1024 * 1024
RATIO_CHECKED_FROM = MB  # parts smaller than this unpacked are never a danger
MAX_PARTS = 10_000


class Formula(str):
    """A formula cell of an .xlsx without a stored result: empty text, told apart from an
    empty cell so that validation can report it."""


FORMULA = Formula("")


class Limits:
    """The caps of one read (settings of dashboard/config.py unless given)."""

    def __init__(self, max_bytes: int | None = None, max_rows: int | None = None, max_columns: int | None = None,
                 max_unpacked: int | None = None, max_ratio: float | None = None) -> None:
        self.max_bytes = max_bytes or config.import_max_bytes()
        self.max_rows = max_rows or config.import_max_rows()
        self.max_columns = max_columns or config.import_max_columns()
        self.max_unpacked = max_unpacked or config.import_max_unpacked_bytes()
        self.max_ratio = max_ratio or config.import_max_ratio()


def size_text(size: float) -> str:
    """14 KB, 1.5 MB, 100 MB."""
    if size < MB:
        return f"{max(1, round(size / 1024)):,} KB"
    return f"{size / MB:,.1f}".removesuffix(".0") + " MB"


def too_big(name: str, size: int, limit: int) -> LedgerError:
    return LedgerError(f"{name} 大小 {size_text(size)}，超过 {size_text(limit)} 上限。请拆分后分批导入。")


def read_table(data: bytes, filename: str, encoding: str | None = None, max_bytes: int | None = None,
               limits: Limits | None = None) -> list[list]:
    """All rows of the first sheet (or the CSV) as lists of raw cell values; a formula
    cell without a stored result is `FORMULA`. Raises LedgerError (nothing read) for a
    file that is not a table or breaks a limit."""
    name = Path(filename).name
    limits = limits or Limits(max_bytes=max_bytes)
    if max_bytes:
        limits.max_bytes = max_bytes
    if not data:
        raise LedgerError(f"{name} 是空文件，没有任何内容。")
    if len(data) > limits.max_bytes:
        raise too_big(name, len(data), limits.max_bytes)
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] == b"%PDF":
        raise LedgerError(f"{name} 不是表格文件（看起来是图片或 PDF）。请从信访信息系统导出 Excel 或 CSV 后再导入。")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name, limits)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data:
            raise LedgerError(f"{name} 已加密（设置了打开密码）。请在 Excel 中取消密码、另存后再导入。")
        return _read_xls(data, name, limits)
    return read_csv(data, name, encoding, limits=limits)


def _too_many_rows(name: str, limits: Limits) -> LedgerError:
    return LedgerError(f"{name} 超过 {limits.max_rows:,} 行的上限（按实际读到的行计，不按表格声明的范围）。"
                       "请拆分后分批导入，或由管理员调整 IMPORT_MAX_ROWS。")


def _too_many_columns(name: str, row: int, column: int, limits: Limits) -> LedgerError:
    return LedgerError(f"{name} 第 {row} 行第 {column} 列有内容，超过 {limits.max_columns} 列的上限。"
                       "台账只需信访件编号、登记日期等列：请删去多余的列后再导入。")


def check_zip(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """The .xlsx's zip, after its directory passed the limits: total unpacked size and
    each large part's compression ratio. (Unpacking stops at the declared size, so the
    declared sizes bound what is read.)"""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise LedgerError(f"{name} 无法作为 Excel 文件打开，可能已损坏。请重新导出。") from None
    if len(parts) > MAX_PARTS:
        raise LedgerError(f"{name} 内含 {len(parts):,} 个部件，不是正常的 Excel 台账。请重新导出。")
    total = sum(part.file_size for part in parts)
    if total > limits.max_unpacked:
        raise LedgerError(f"{name} 解压后共 {size_text(total)}，超过 {size_text(limits.max_unpacked)} 上限"
                          "（文件可能是恶意构造的压缩炸弹，或表格过大）。请拆分后分批导入。")
    for part in parts:
        if part.file_size > RATIO_CHECKED_FROM and part.file_size > limits.max_ratio * max(part.compress_size, 1):
            raise LedgerError(f"{name} 的部件 {part.filename[:80]} 压缩比异常（{size_text(part.file_size)} 压缩为 "
                              f"{size_text(part.compress_size)}，超过 {limits.max_ratio:g} 倍），"
                              "可能是恶意构造的压缩炸弹。请从系统重新导出台账。")
    return archive


def _read_xlsx(data: bytes, name: str, limits: Limits) -> list[list]:
    import openpyxl

    check_zip(data, name, limits)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:
        raise LedgerError(f"{name} 无法作为 Excel 文件打开，可能已损坏。请重新导出。") from None
    try:
        return _stream_rows(sheet, name, limits)
    except LedgerError:
        raise
    except Exception:
        raise LedgerError(f"{name} 的工作表内容无法读取，可能已损坏。请用 Excel 打开后另存，再导入。") from None
    finally:
        workbook.close()


def _stream_rows(sheet, name: str, limits: Limits) -> list[list]:
    """The sheet's rows from its XML, one at a time: row and column numbers as the cells
    give them (the <dimension> a file declares is never used to size anything)."""
    from openpyxl.worksheet._reader import WorkSheetParser

    formula_tag = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}f"

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(formula_tag) is not None:
                cell["value"] = FORMULA
            return cell

    workbook = sheet.parent
    rows: list[list] = []
    with sheet._get_source() as source:
        parser = Parser(source, sheet._shared_strings, data_only=True, epoch=workbook.epoch,
                        date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        for index, cells in parser.parse():
            values = [(cell["column"], cell["value"]) for cell in cells if cell["value"] is not None]
            if index > limits.max_rows:
                if values:
                    raise _too_many_rows(name, limits)
                continue  # formatted empty rows past the cap: nothing to keep
            for column, _ in values:
                if column > limits.max_columns:
                    raise _too_many_columns(name, index, column, limits)
            while len(rows) < index - 1:  # rows the file leaves out are empty
                rows.append([])
            row: list = [None] * (max((column for column, _ in values), default=0))
            for column, value in values:
                row[column - 1] = value
            if len(rows) >= index:  # a row number given twice or going back: never drop it silently
                if values:
                    raise LedgerError(f"{name} 的第 {index} 行在文件中出现了两次（或行号顺序错乱），"
                                      "文件可能已损坏。请用 Excel 打开后另存，再导入。")
                continue
            rows.append(row)
    return rows


def _read_xls(data: bytes, name: str, limits: Limits) -> list[list]:
    try:
        import xlrd
    except ImportError:  # pragma: no cover - xlrd is a dependency
        raise LedgerError(f"{name} 是旧版 .xls 文件，本机缺少读取组件。请另存为 .xlsx 后导入。") from None
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception:
        raise LedgerError(f"{name} 无法作为 .xls 文件打开，可能已损坏或加密。请另存为 .xlsx 后导入。") from None
    if sheet.nrows > limits.max_rows:
        raise _too_many_rows(name, limits)
    if sheet.ncols > limits.max_columns:
        raise _too_many_columns(name, 1, sheet.ncols, limits)
    rows = []
    for r in range(sheet.nrows):
        row = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                except (ValueError, OverflowError):
                    row.append(cell.value)
            else:
                row.append(cell.value)
        rows.append(row)
    return rows


def read_csv(data: bytes, name: str, encoding: str | None = None, headers=None,
             limits: Limits | None = None) -> list[list]:
    """A CSV's rows. `headers` are header names (as `header_key`) that tell the
    delimiter apart; the ledger's own by default."""
    limits = limits or Limits()
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
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text, headers or HEADER_INDEX))
    try:
        for row in reader:
            if len(rows) >= limits.max_rows:
                if any(cell.strip() for cell in row):
                    raise _too_many_rows(name, limits)
                continue
            if len(row) > limits.max_columns:
                last = max((i for i, cell in enumerate(row) if cell.strip()), default=-1)
                if last >= limits.max_columns:
                    raise _too_many_columns(name, reader.line_num, last + 1, limits)
                row = row[:limits.max_columns]
            rows.append(row)
    except csv.Error:
        raise LedgerError(f"{name} 第 {reader.line_num} 行附近格式有误（引号不成对或单元格过长），无法读取。"
                          "请用 Excel 打开检查后另存为 CSV。") from None
    return rows


def _delimiter(text: str, headers) -> str:
    """The delimiter under which some early line reads as the most known headers (the
    sniffer alone is misled by a title line or by commas and semicolons in the text)."""
    lines = text[:65536].splitlines()[:30]
    scores = {}
    for delimiter in (",", "\t", ";"):
        try:
            scores[delimiter] = max((sum(1 for cell in row if header_key(cell) in headers)
                                     for row in csv.reader(lines, delimiter=delimiter)), default=0)
        except csv.Error:
            scores[delimiter] = 0
    best = max(scores, key=lambda d: scores[d])  # ties: the order above (comma first)
    if scores[best] >= 2:
        return best
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",\t;").delimiter
    except csv.Error:
        return ","
