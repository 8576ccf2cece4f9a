"""The agenda of a spot-check meeting: an Excel workbook and a printable A4 page per
drawn case (Chinese, system fonts only: nothing is fetched from the network)."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping

import pandas as pd

from dashboard.exports import neutralise
from dashboard.labels import COLORS, DOMAINS, label

REPORT_ITEMS = ("已做了哪些工作", "为什么至今未化解", "下一步措施和时限")
AGENDA_COLUMNS = {
    "position": "序号", "case_no": "信访件编号", "county_name": "县区", "township_name": "乡镇（街道）",
    "domain": "问题类别", "summary": "诉求摘要", "days_open": "已历时（天）", "color": "督办颜色",
    "unit_name": "责任单位", "leader_name": "包案领导", "leader_title": "领导职务", "timeline": "办理过程",
}


def agenda_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["domain"] = out["domain"].map(lambda code: label(DOMAINS, code))
    out["color"] = out["color"].map(lambda code: label(COLORS, code) if isinstance(code, str) else "")
    out = out[list(AGENDA_COLUMNS)].rename(columns=AGENDA_COLUMNS)
    out["汇报要点"] = "；".join(REPORT_ITEMS)
    return out


def agenda_titles(draw_id: int, meeting: str | None, seed: str, n_cases: int, printed: dt.date, *,
                  meeting_info: Mapping | None = None, chain: Mapping | None = None) -> tuple[str, str]:
    """Title and subtitle of an agenda: the meeting (number, time, commitment, the value
    announced at it), the draw and its seed, and the record chain's place, length and
    head when printed, to be written into the minutes and checked later
    (`verify-draw ID --expect-length N --expect-head DIGEST`)."""
    title = f"督查会议程 · {meeting or f'抽查记录 #{draw_id}'}"
    parts = [f"抽查记录 #{draw_id}"]
    if meeting_info is not None:
        parts.append(f"督查会 #{meeting_info['meeting_id']} {meeting_info['scheduled_at']:%Y-%m-%d %H:%M}")
        committed, rule = meeting_info.get("seed_commitment"), meeting_info.get("public_value_rule")
        parts.append(f"会前承诺值（SHA-256）{committed if isinstance(committed, str) else '（无）'}")
        if isinstance(rule, str) and rule:
            parts.append(f"会上公布的公开值：{rule}")
    else:
        parts.append("不属于督查会（种子由系统生成，无会前承诺）")
    parts += [f"随机种子 {seed}", f"共 {n_cases} 件", f"打印日期 {printed:%Y-%m-%d}"]
    if chain:
        parts.append(
            f"存证链：本记录为第 {chain.get('position') or '—'} 条，打印时共 {chain['length']} 条，"
            f"最新摘要 {chain['head_digest']}" + ("" if chain.get("ok", True) else "（核验未通过，请立即核查）")
            + f"；请记入会议纪要，日后用 verify-draw {draw_id} --expect-length {chain['length']} "
            f"--expect-head 摘要 核对"
        )
    return title, " · ".join(parts)


def agenda_excel(frame: pd.DataFrame, title: str, subtitle: str | None = None) -> bytes:
    table = agenda_table(frame).map(neutralise)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, startrow=2, sheet_name="会议议程")
        sheet = writer.sheets["会议议程"]
        sheet.cell(row=1, column=1, value=neutralise(title))
        if subtitle:
            sheet.cell(row=2, column=1, value=neutralise(subtitle))
        for column, width in zip("ABCDEFGHIJKLM", (6, 20, 10, 14, 10, 40, 10, 8, 18, 10, 16, 60, 40), strict=True):
            sheet.column_dimensions[column].width = width
    return buffer.getvalue()


PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "SimSun", sans-serif; font-size: 11pt; color: #111; }
section { page-break-after: always; }
section:last-child { page-break-after: auto; }
h1 { font-size: 16pt; margin: 0 0 4mm; }
h2 { font-size: 13pt; margin: 0 0 3mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 4mm; }
th, td { border: 1px solid #888; padding: 2mm; vertical-align: top; text-align: left; }
th { width: 28mm; background: #f2f2f2; font-weight: normal; }
.report td { height: 28mm; }
.meta { color: #555; font-size: 9pt; margin-bottom: 4mm; }
"""


def agenda_html(frame: pd.DataFrame, title: str, subtitle: str) -> str:
    """A self-contained HTML document, one A4 page per drawn case, ready to print."""
    table = agenda_table(frame)
    pages = []
    for _, row in table.iterrows():
        facts = "".join(
            f"<tr><th>{html.escape(str(name))}</th><td>{html.escape('' if pd.isna(value) else str(value))}</td></tr>"
            for name, value in row.items() if name not in ("序号", "汇报要点")
        )
        report = "".join(f"<tr><th>{html.escape(item)}</th><td></td></tr>" for item in REPORT_ITEMS)
        pages.append(
            f"<section><h1>{html.escape(title)}</h1><div class='meta'>{html.escape(subtitle)}</div>"
            f"<h2>第 {int(row['序号'])} 件 · {html.escape(str(row['信访件编号']))}</h2>"
            f"<table>{facts}</table><h2>包案领导汇报</h2><table class='report'>{report}</table>"
            "<table class='report'><tr><th>点评意见</th><td></td></tr><tr><th>评价 / 跟进时限</th>"
            "<td>□ 工作到位　□ 需改进　□ 工作不力　　跟进时限：　　年　　月　　日</td></tr></table></section>"
        )
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{PRINT_CSS}</style></head><body>"
        + "".join(pages) + "</body></html>"
    )
