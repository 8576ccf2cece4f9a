"""Case lists and downloads shared by the pages.

Every case list on screen leads with what a leader reads first: the supervision color
as a colored chip, the time left or overdue in words (已超期 N 天, never a negative
count), the leader in charge and how long the case has been open; then the case itself.
Columns repeating the region the page already shows are dropped, empty cells read "—".
The queries' output columns stay as they are; the reordering happens here. Downloads
keep every column (with numbers for days) for further work in Excel.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import config
from dashboard.exports import csv_bytes, excel_bytes
from dashboard.labels import CHANNELS, COLOR_RGB, COLORS, DOMAINS, STAGES, days_left_text, label
from pages import session

PROVISIONAL_NOTE = "暂定：该年节假日安排未导入，仅按周末推算"
EMPTY = "—"

# Export headers (downloads keep the queries' order of facts, with numbers for days).
CASE_COLUMN_LABELS = {
    "position": "序号",
    "case_no": "信访件编号",
    "registered_on": "登记日期",
    "county_name": "县区",
    "township_name": "乡镇（街道）",
    "domain": "问题类别",
    "channel": "信访形式",
    "summary": "诉求摘要",
    "unit_name": "责任单位",
    "leader_name": "包案领导",
    "leader_title": "领导职务",
    "days_open": "已历时（天）",
    "stage": "所处环节",
    "deadline": "当前期限",
    "days_left": "剩余天数",
    "color": "督办颜色",
    "provisional": "期限说明",
}

# The screen's order: status first, then the case.
STATUS = "督办颜色"
TIME_LEFT = "剩余/超期"
LEADER = "包案领导"
OPEN_FOR = "已历时"
SCREEN_ORDER = (STATUS, TIME_LEFT, LEADER, OPEN_FOR, "序号", "信访件编号", "乡镇（街道）", "县区", "诉求摘要",
                "责任单位", "所处环节", "当前期限", "问题类别", "信访形式", "登记日期", "期限说明")
# The region columns a page at that level repeats on every row.
LEVEL_COLUMNS = {"county": ("county_name",), "township": ("county_name", "township_name")}


def localize_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """A case list with Chinese labels and headers, ready to export."""
    out = frame.copy()
    for column, mapping in (("domain", DOMAINS), ("channel", CHANNELS), ("stage", STAGES),
                            ("color", COLORS)):
        if column in out:
            out[column] = out[column].map(lambda code, m=mapping: label(m, code) if isinstance(code, str) else "")
    if "provisional" in out:
        out["provisional"] = out["provisional"].map(lambda p: PROVISIONAL_NOTE if p is True else "")
    columns = [c for c in CASE_COLUMN_LABELS if c in out]
    return out[columns].rename(columns=CASE_COLUMN_LABELS)


def _blank(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or value == ""


def _leader(name, title) -> str:
    if _blank(name):
        return EMPTY
    return f"{name}（{title}）" if not _blank(title) else str(name)


def screen_cases(frame: pd.DataFrame, level: str | None = None) -> pd.DataFrame:
    """The on-screen case list: status chip, 剩余/超期, 包案领导, 已历时 first; the
    columns of `level` (county / township: the region the page shows) dropped; "—" in
    empty cells."""
    shown = localize_cases(frame.drop(columns=list(LEVEL_COLUMNS.get(level or "", ())), errors="ignore"))
    if "days_left" in frame:
        shown[TIME_LEFT] = [EMPTY if _blank(d) else days_left_text(int(d)) for d in frame["days_left"]]
    if "leader_name" in frame:
        titles = frame["leader_title"] if "leader_title" in frame else [None] * len(frame)
        shown[LEADER] = [_leader(n, t) for n, t in zip(frame["leader_name"], titles, strict=True)]
    if "days_open" in frame:
        shown[OPEN_FOR] = [EMPTY if _blank(d) else f"{int(d)} 天" for d in frame["days_open"]]
    shown = shown.drop(columns=["剩余天数", "领导职务", "已历时（天）"], errors="ignore")
    shown = shown[[c for c in SCREEN_ORDER if c in shown] + [c for c in shown if c not in SCREEN_ORDER]]
    for column in shown:  # text throughout (a date column with "—" cells stays one type)
        shown[column] = [EMPTY if _blank(v) else v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else v
                         for v in shown[column]]
    return shown.reset_index(drop=True)


def chip_style(value: str) -> str:
    """The colored chip of a status cell (red and green with white text, yellow with dark)."""
    for color, name in COLORS.items():
        if value == name:
            r, g, b = COLOR_RGB[color]
            text = "#222" if color == "yellow" else "#fff"
            return f"background-color: rgb({r},{g},{b}); color: {text}; font-weight: 600; text-align: center"
    return ""


def _overdue_style(value: str) -> str:
    return "color: rgb(214,39,40); font-weight: 600" if str(value).startswith("已超期") else ""


def styled(shown: pd.DataFrame):
    style = shown.style
    if STATUS in shown:
        style = style.map(chip_style, subset=[STATUS])
    if TIME_LEFT in shown:
        style = style.map(_overdue_style, subset=[TIME_LEFT])
    return style


# Most urgent first: a few screenfuls; narrower filters or the download for the rest.
# Each shown row costs the server time on every view (styled cells), so no more.
MAX_SHOWN_ROWS = 100


def level_of_filters(filters) -> str | None:
    """The level whose region columns the sidebar's county / township choice repeats."""
    return "township" if filters.township_code else "county" if filters.county_code else None


def case_table(frame: pd.DataFrame, *, key: str, height: int | str = "auto", download: str | None = None,
               level: str | None = None) -> None:
    """Show a case list (from `queries`) led by its status; selecting a row opens the
    case detail page. `level`: the region level the page shows (its columns are left
    out; by default that of the sidebar's county / township choice). With `download`
    (a title), Excel/CSV buttons too.

    Long lists show their first `MAX_SHOWN_ROWS` rows (lists come most urgent first);
    the downloads always hold every row."""
    from pages import widgets

    if frame.empty:
        st.info("没有符合条件的案件。")
        return
    if level is None:
        level = level_of_filters(widgets.current_filters())
    shown_rows = frame.head(MAX_SHOWN_ROWS)
    shown = screen_cases(shown_rows, level)
    event = st.dataframe(styled(shown), hide_index=True, height=height, key=key, on_select="rerun",
                         selection_mode="single-row",
                         column_config={STATUS: st.column_config.TextColumn(STATUS, width="small"),
                                        "诉求摘要": st.column_config.TextColumn("诉求摘要", width="large")})
    if len(frame) > MAX_SHOWN_ROWS:
        st.caption(f"共 {len(frame):,} 件，表中列出前 {MAX_SHOWN_ROWS:,} 件；完整清单请下载。勾选行首方框可打开该案件详情。")
    else:
        st.caption("勾选行首方框可打开该案件详情。")
    if download:  # the export's labels are made only when a button is pressed
        widgets.download_buttons_for(
            lambda: localize_cases(frame), download,
            f"{download} · {widgets.describe_filters(widgets.current_scope(), widgets.current_filters())}",
            key=f"{key}_download")
    if event.selection.rows:
        open_case(str(shown_rows.iloc[event.selection.rows[0]]["case_no"]))


def open_case_choices(*, key: str, default_colors: tuple[str, ...] = (),
                      in_link: bool = False) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Color / stage / unit filters above a list of open cases: (colors, stages, unit
    text). With `in_link` the choices are kept in the address (parameters `{key}_colors`,
    `{key}_stages`, `{key}_unit`), so a shared link restores them."""
    bind = "query-params" if in_link else None
    left, middle, right = st.columns([2, 2, 3])
    colors = left.multiselect("颜色", list(COLORS), default=list(default_colors) or None, format_func=COLORS.get,
                              key=f"{key}_colors", placeholder="全部颜色", bind=bind)
    stages = middle.multiselect("环节", list(STAGES), format_func=STAGES.get, key=f"{key}_stages",
                                placeholder="全部环节", bind=bind)
    unit = right.text_input("责任单位（包含）", key=f"{key}_unit", placeholder="例如：自然资源", bind=bind)
    return tuple(colors), tuple(stages), unit.strip()


def open_case_filters(cases: pd.DataFrame, *, key: str, default_colors: tuple[str, ...] = (),
                      in_link: bool = False) -> pd.DataFrame:
    """`open_case_choices` applied to a list of open cases; returns the shown rows."""
    colors, stages, unit = open_case_choices(key=key, default_colors=default_colors, in_link=in_link)
    shown = cases
    if colors:
        shown = shown[shown["color"].isin(colors)]
    if stages:
        shown = shown[shown["stage"].isin(stages)]
    if unit:
        shown = shown[shown["unit_name"].fillna("").str.contains(unit, regex=False)]
    return shown


def open_case(case_no: str) -> None:
    st.session_state.pop("case_search", None)  # the detail page takes the number from the link
    st.switch_page("pages/case.py", query_params={"case": case_no})


def download_buttons(frame: pd.DataFrame, name: str, caption: str, *, key: str, permission: str = "export") -> None:
    """CSV (UTF-8 with BOM for Excel) and Excel downloads of a shown table, with the
    filters written above the data. The files are built only when a button is pressed.
    The buttons sit side by side at their own width (never cut off in a narrow column)."""
    download_buttons_for(lambda: frame, name, caption, key=key, permission=permission)


def download_buttons_for(make_frame, name: str, caption: str, *, key: str, permission: str = "export") -> None:
    """`download_buttons` for a list fetched only when a button is pressed (a page shows
    the first rows of a long list; the download holds all of them)."""
    row = st.container(horizontal=True, gap="small")
    export_button(row, "下载 Excel", lambda: excel_bytes(make_frame(), caption), file_name=f"{name}.xlsx",
                  mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                  what=caption, permission=permission)
    export_button(row, "下载 CSV", lambda: csv_bytes(make_frame(), caption), file_name=f"{name}.csv",
                  mime="text/csv", key=f"{key}_csv", what=caption, permission=permission)


def export_button(container, label: str, build, *, file_name: str, mime: str, key: str, what: str,
                  permission: str = "export") -> None:
    """A download button whose file is built when asked for; each download leaves an
    audit record (who downloaded what, with which filters). `permission`: the one the
    table needs (the user list and the audit log: "users", "audit")."""
    from pages import widgets

    signed_in, url = session.actor(), config.database_url()

    def build_and_audit() -> bytes:
        from dashboard import actions

        actions.export(widgets._engine_for(url), signed_in, file_name, detail=what[:500], permission=permission)
        return build()

    container.download_button(label, build_and_audit, file_name=file_name, mime=mime, key=key, on_click="ignore",
                              width="content")
