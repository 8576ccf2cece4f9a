"""The monthly bulletin (月度通报) as a Word document, and the notice of an early warning.

The figures come from the same function as `kpi --json` (queries.figures.all_indicators)
for the month, so they are equal; rankings
from queries.rankings (rank change against the previous month). Case lists carry the
case number, place, domain, days and the leader in charge: no petitioner's data.
Charts are drawn with Altair and rendered to PNG offline by vl-convert.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io

import altair as alt
import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from sqlalchemy.engine import Connection

from dashboard.labels import DOMAINS, percent_text
from queries.filters import Filters, Scope
from queries.rankings import METRICS, ranking

BODY_FONT, TITLE_FONT, HEADING_FONT = "仿宋", "宋体", "黑体"
TOP_TOWNSHIPS = 10
LIST_LIMIT = 10


class BulletinError(ValueError):
    """A month that cannot be reported (Chinese message)."""


def parse_month(text: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """'2026-11' → (1 Nov, 30 Nov); a month not yet over ends today."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        start = dt.date(year, month, 1)
    except ValueError:
        raise BulletinError(f"月份格式不对：{text!r}，请写成 YYYY-MM，例如 2026-11。") from None
    if start > today:
        raise BulletinError(f"{text} 还没到，通报只能针对已开始的月份（今天是 {today}）。")
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    return start, min(end, today)


def _previous_month(start: dt.date) -> tuple[dt.date, dt.date]:
    end = start - dt.timedelta(days=1)
    return end.replace(day=1), end


def bulletin_data(conn: Connection, scope: Scope, start: dt.date, end: dt.date) -> dict:
    """Everything the bulletin shows, for the scope and the month."""
    from queries.backlog import backlog_monthly, unresolved_backlog_cases
    from queries.cases import open_cases
    from queries.figures import all_indicators
    from queries.kpi import indicators_by_region

    filters = Filters(date_from=start, date_to=end)
    previous = Filters(date_from=_previous_month(start)[0], date_to=_previous_month(start)[1])
    figures = all_indicators(conn, scope, filters)
    before = all_indicators(conn, scope, previous)
    levels = {"county": "县区", "township": "乡镇（街道）"} if scope.level == "city" else {"township": "乡镇（街道）"}
    rankings = {}
    for level in levels:
        table = None
        for metric in METRICS:
            frame = ranking(conn, scope, filters, level, metric)[["code", "name", "value", "rank", "change"]]
            frame = frame.rename(columns={"value": f"{metric}__value", "rank": f"{metric}__rank",
                                          "change": f"{metric}__change"})
            table = frame if table is None else table.merge(frame.drop(columns="name"), on="code")
        ranks = table[[f"{m}__rank" for m in METRICS]].astype("float64")
        table["mean_rank"] = ranks.mean(axis=1)
        rankings[level] = table.sort_values(["mean_rank", "code"], na_position="last").reset_index(drop=True)
    by_county = indicators_by_region(conn, scope, filters, "county" if scope.level == "city" else "township")
    by_county_before = indicators_by_region(conn, scope, previous,
                                            "county" if scope.level == "city" else "township")
    open_now = open_cases(conn, scope, filters)
    red = open_now[open_now["color"] == "red"]
    backlog = unresolved_backlog_cases(conn, scope, filters)
    monthly = backlog_monthly(conn, scope, Filters(date_from=(start - dt.timedelta(days=330)).replace(day=1),
                                                   date_to=end))
    return {"scope": scope, "start": start, "end": end, "figures": figures, "before": before, "levels": levels,
            "rankings": rankings, "by_region": by_county, "by_region_before": by_county_before, "red": red,
            "backlog": backlog, "monthly": monthly}


# ------------------------------------------------------------------ formatting


percent = percent_text  # the one way a rate is written (dashboard.labels)


def _change_points(now, before) -> str:
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return ""
    diff = (now - before) * 100
    if abs(diff) < 0.05:
        return "，与上月持平"
    return f"，比上月{'提高' if diff > 0 else '下降'} {abs(diff):.1f} 个百分点"


def _change_count(now: int, before: int) -> str:
    if before == 0:
        return ""
    change = (now - before) / before
    if change == 0:
        return "，环比持平"
    return f"，环比{'上升' if change > 0 else '下降'} {abs(change):.1%}"


def _shown_change(change) -> str:
    if change is None or pd.isna(change):
        return "—"
    return "持平" if change == 0 else (f"↑{int(change)}" if change > 0 else f"↓{-int(change)}")


def _metric_value(metric: str, value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.2f}" if metric == "backlog_per_10k" else f"{value:.1%}"


def indicator_rows(figures: dict, before: dict) -> list[tuple[str, str, str]]:
    """(indicator, this month, last month): the bulletin's table of figures."""
    def count(key):
        return str(figures[key]), str(before[key])

    def rate(key):
        return percent(figures[key]), percent(before[key])

    days = ("—" if figures["average_handling_days"] is None else f"{figures['average_handling_days']:.2f}",
            "—" if before["average_handling_days"] is None else f"{before['average_handling_days']:.2f}")
    return [
        ("信访总量（件）", *count("total")),
        ("网上信访占比", *rate("online_share")),
        ("及时受理率", *rate("timely_acceptance_rate")),
        ("按期办结率", *rate("on_time_closure_rate")),
        ("参评率", *rate("evaluation_rate")),
        ("满意率", *rate("satisfaction_rate")),
        ("积案总数（件）", *count("backlog_total")),
        ("已化解积案（件）", *count("backlog_resolved")),
        ("积案化解率", *rate("backlog_resolution_rate")),
        ("集体访（批）", *count("collective_batches")),
        ("集体访（人次）", *count("collective_persons")),
        ("赴省访（批）", *count("escalated_province_batches")),
        ("进京访（批）", *count("escalated_beijing_batches")),
        ("平均办理天数", *days),
        ("首办化解率", *rate("first_resolution_rate")),
        ("重复信访率", *rate("repeat_rate")),
    ]


def summary_text(data: dict) -> str:
    f, b = data["figures"], data["before"]
    start, end = data["start"], data["end"]
    unresolved = f["backlog_total"] - f["backlog_resolved"]
    yoy = "" if f["yoy"] is None else f"，同比{'上升' if f['yoy'] > 0 else '下降' if f['yoy'] < 0 else '持平'} {abs(f['yoy']):.1%}"
    return (
        f"{start.month}月（{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日），{f['region_name']}共登记信访事项 {f['total']} 件{yoy}"
        f"{_change_count(f['total'], b['total'])}；其中网上信访占 {percent(f['online_share'])}。"
        f"及时受理率 {percent(f['timely_acceptance_rate'])}{_change_points(f['timely_acceptance_rate'], b['timely_acceptance_rate'])}；"
        f"按期办结率 {percent(f['on_time_closure_rate'])}{_change_points(f['on_time_closure_rate'], b['on_time_closure_rate'])}；"
        f"满意率 {percent(f['satisfaction_rate'])}{_change_points(f['satisfaction_rate'], b['satisfaction_rate'])}。"
        f"集体访 {f['collective_batches']} 批 {f['collective_persons']} 人次，赴省访 {f['escalated_province_batches']} 批，"
        f"进京访 {f['escalated_beijing_batches']} 批。截至月末，积案 {f['backlog_total']} 件，已化解 {f['backlog_resolved']} 件，"
        f"化解率 {percent(f['backlog_resolution_rate'])}，尚余 {unresolved} 件未化解。"
        + (f"本月办结的信访事项平均办理 {f['average_handling_days']:.2f} 天。" if f["average_handling_days"] is not None else "")
        + f"首办化解率 {percent(f['first_resolution_rate'])}，重复信访率 {percent(f['repeat_rate'])}。"
    )


# ------------------------------------------------------------------ charts


def _png(chart: alt.Chart) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_json(), scale=2)


def charts(data: dict) -> list[tuple[str, bytes]]:
    """(caption, PNG) of the bulletin's charts."""
    out = []
    regions = data["by_region"][["name", "total"]].assign(period="本月")
    before = data["by_region_before"][["name", "total"]].assign(period="上月")
    both = pd.concat([before, regions], ignore_index=True)
    label = "县区" if data["scope"].level == "city" else "乡镇（街道）"
    if len(regions) <= 20:
        out.append((f"图1 各{label}本月与上月信访量", _png(
            alt.Chart(both).mark_bar().encode(
                x=alt.X("name:N", title=None, sort=regions["name"].tolist(), axis=alt.Axis(labelAngle=0)),
                xOffset=alt.XOffset("period:N", sort=["上月", "本月"]),
                y=alt.Y("total:Q", title="信访量（件）"),
                color=alt.Color("period:N", title=None, sort=["上月", "本月"],
                                scale=alt.Scale(range=["#9ecae1", "#c0392b"]), legend=alt.Legend(orient="top")),
            ).properties(width=520, height=220))))
    monthly = data["monthly"]
    if not monthly.empty:
        out.append((f"图{len(out) + 1} 近 12 个月月末未化解积案", _png(
            alt.Chart(monthly).mark_line(point=True, color="#c0392b").encode(
                x=alt.X("month:N", title="月份", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("remaining:Q", title="月末未化解积案（件）"),
            ).properties(width=520, height=200))))
    return out


# ------------------------------------------------------------------ the document


def _font(run, name: str, size: float | None = None, bold: bool = False) -> None:
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if size:
        run.font.size = Pt(size)
    run.font.bold = bold


def _paragraph(doc, text: str, *, font=BODY_FONT, size=16, bold=False, align=None, indent=True):
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    paragraph.paragraph_format.line_spacing = Pt(28)
    _font(paragraph.add_run(text), font, size, bold)
    return paragraph


def _table(doc, header: list[str], rows: list[list[str]], widths_mm: list[float] | None = None, size=10.5):
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), HEADING_FONT, size)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(str(text)), BODY_FONT, size)
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    if widths_mm:
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
    return table


def _a4(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    style = doc.styles["Normal"]
    style.font.name = BODY_FONT
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    style.font.size = Pt(16)


def _ranking_rows(table: pd.DataFrame, limit: int | None = None) -> list[list[str]]:
    rows = []
    frame = table if limit is None else table.head(limit)
    for row in frame.to_dict("records"):
        cells = [row["name"]]
        for metric in METRICS:
            rank = row[f"{metric}__rank"]
            cells.append(f"{_metric_value(metric, row[f'{metric}__value'])}（{'—' if pd.isna(rank) else int(rank)}，"
                         f"{_shown_change(row[f'{metric}__change'])}）")
        rows.append(cells)
    return rows


def _case_rows(frame: pd.DataFrame, *, backlog: bool) -> list[list[str]]:
    rows = []
    for row in frame.head(LIST_LIMIT).to_dict("records"):
        cells = [row["case_no"], row.get("township_name") or "—", DOMAINS.get(row["domain"], row["domain"]),
                 str(row["days_open"])]
        if backlog:
            cells.append(row.get("leader_name") or "未明确")
        else:
            cells.append("—" if row.get("deadline") is None or pd.isna(row.get("deadline")) else str(row["deadline"]))
        rows.append(cells)
    return rows


def bulletin_docx(data: dict, *, issued_on: dt.date, issuer: str = "信访局") -> bytes:
    scope, start, end = data["scope"], data["start"], data["end"]
    doc = Document()
    _a4(doc)
    _paragraph(doc, f"{scope.name}信访工作月度通报", font=TITLE_FONT, size=22, bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, f"（{start:%Y}年第{start.month}期）", size=16, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, f"{scope.name}{issuer}　　　　{issued_on.year}年{issued_on.month}月{issued_on.day}日", size=14,
               align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, f"统计期间：{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日", size=14,
               indent=False)
    _paragraph(doc, "一、总体情况", font=HEADING_FONT, size=16, indent=False)
    _paragraph(doc, summary_text(data))
    _table(doc, ["指标", "本月", "上月"], [list(r) for r in indicator_rows(data["figures"], data["before"])],
           [70, 40, 40])
    _paragraph(doc, "注：信访总量、集体访、越级访按登记日期计；及时受理率按本月受理的事项计；按期办结率、参评率、满意率、"
               "平均办理天数、首办化解率按本月办结的事项计；积案为月末时点数。", size=10.5, indent=False)
    _paragraph(doc, "二、赛马晾晒", font=HEADING_FONT, size=16, indent=False)
    header_metrics = [METRICS[m][0] for m in METRICS]
    for number, (level, label) in enumerate(data["levels"].items(), start=1):
        table = data["rankings"][level]
        limited = level == "township" and len(table) > 2 * TOP_TOWNSHIPS
        title = f"（{number}）{label}排名" + ("（综合名次前十位和后十位）" if limited else "")
        _paragraph(doc, title, size=16, indent=False)
        rows = _ranking_rows(table)
        if limited:
            rows = rows[:TOP_TOWNSHIPS] + [["……"] + [""] * len(METRICS)] + rows[-TOP_TOWNSHIPS:]
        _table(doc, [label, *header_metrics], rows, [26] + [26] * len(METRICS), size=9)
    _paragraph(doc, "注：单元格为指标值（名次，与上月相比的名次变化）；↑ 上升、↓ 下降；表按五项指标的平均名次排列。"
               "每万人未化解积案越低越好，其余越高越好。", size=10.5, indent=False)
    _paragraph(doc, "三、红色督办事项和未化解积案", font=HEADING_FONT, size=16, indent=False)
    red, backlog = data["red"], data["backlog"]
    group = "county_name" if scope.level == "city" else "township_name"
    names = sorted(set(red[group].dropna()) | set(backlog[group].dropna()))
    if not names:
        _paragraph(doc, "月末没有红色督办事项和未化解积案。")
    for number, name in enumerate(names, start=1):
        red_part, backlog_part = red[red[group] == name], backlog[backlog[group] == name]
        _paragraph(doc, f"（{number}）{name}：红色督办 {len(red_part)} 件，未化解积案 {len(backlog_part)} 件。", indent=False)
        if len(red_part):
            _table(doc, ["信访件编号", "乡镇（街道）", "问题类别", "已历时（天）", "当前期限"],
                   _case_rows(red_part, backlog=False), [36, 34, 28, 24, 30], size=9)
        if len(backlog_part):
            _table(doc, ["积案编号", "乡镇（街道）", "问题类别", "已历时（天）", "包案领导"],
                   _case_rows(backlog_part, backlog=True), [36, 34, 28, 24, 30], size=9)
        if len(red_part) > LIST_LIMIT or len(backlog_part) > LIST_LIMIT:
            _paragraph(doc, f"（各列历时最长的 {LIST_LIMIT} 件，完整清单见看板。）", size=10.5, indent=False)
    _paragraph(doc, "四、图表", font=HEADING_FONT, size=16, indent=False)
    for caption, png in charts(data):
        doc.add_picture(io.BytesIO(png), width=Mm(150))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _paragraph(doc, caption, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def warning_notice_docx(warning: dict, pushes: list[dict], *, city_name: str) -> bytes:
    """The notice of one warning (预警提示单): place, issue, figures, the three recipients."""
    doc = Document()
    _a4(doc)
    _paragraph(doc, "信访预警提示单", font=TITLE_FONT, size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, f"编号：{warning['raised_on']:%Y%m%d}-{int(warning['id']):04d}　　{city_name}信访局", size=14,
               align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    day = warning["raised_on"]
    text = (f"{day.year}年{day.month}月{day.day}日监测：{warning['county_name']}{warning['region_name']}"
            f"{warning['domain_name']}类信访近 {warning['window_days']} 日登记 {warning['observed']} 件，"
            f"按前 12 个月同期水平（经季节调整）预期约 {warning['expected']:.1f} 件，增幅显著"
            f"（单侧泊松检验 p = {warning['p_value']:.1e}）。"
            + ("当前处于敏感时期，已按较低阈值预警。" if warning.get("sensitive") else "")
            + "请相关方面及时研判，排查化解矛盾，并在系统中签收、填报处置情况。")
    _paragraph(doc, text)
    _paragraph(doc, "推送对象（一单三推）：", indent=False)
    _table(doc, ["接收方", "名称", "签收时间", "处置情况"],
           [[p["recipient_kind"], p["recipient_name"],
             "—" if p.get("acknowledged_at") is None or pd.isna(p.get("acknowledged_at")) else str(p["acknowledged_at"]),
             p.get("action_note") or "—"] for p in pushes], [30, 50, 35, 45], size=10.5)
    _paragraph(doc, "本提示单针对地区和问题，不涉及具体信访人。", size=10.5, indent=False)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
