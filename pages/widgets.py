"""Widgets shared by every page: engine, cached queries, sidebar filters, KPI tiles,
color legend, case tables and downloads. Page layout lives in the page modules."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from dashboard import config, db
from dashboard.labels import CHANNELS, COLOR_RGB, COLORS, DOMAINS, STAGES, label
from dashboard.setup import ensure_database
from queries.filters import Filters, Scope, scope_for
from queries.regions import counties, townships

ALL = "全部"

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
}


# ---------------------------------------------------------------- database


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return db.make_engine(url)


def engine() -> Engine:
    return _engine_for(config.database_url())


@st.cache_resource(show_spinner=False)
def _prepare_database(url: str) -> bool:
    """Create the database with the sample city on first run (once per process)."""
    bar = st.progress(0.0, text="首次运行：正在创建数据库并生成示例城市，约需一分钟…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"首次运行：{message}")

    created = ensure_database(_engine_for(url), progress=progress)
    bar.empty()
    return created


def ensure_ready() -> None:
    _prepare_database(config.database_url())


@st.cache_data(ttl=300, show_spinner="正在查询…")
def _cached(url: str, name: str, _func, scope: Scope, filters: Filters, args: tuple):
    with _engine_for(url).connect() as conn:
        return _func(conn, scope, filters, *args)


def run_query(func, scope: Scope, filters: Filters, *args):
    """Run a `queries` function with the page's scope and filters, cached for 5 minutes."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _cached(config.database_url(), name, func, scope, filters, args)


def clear_cache() -> None:
    _cached.clear()


# ---------------------------------------------------------------- scope and filters


def current_scope() -> Scope:
    """The caller's region scope. Until sign-in exists every user sees the whole city."""
    if "scope" not in st.session_state:
        with engine().connect() as conn:
            st.session_state["scope"] = scope_for(conn)
    return st.session_state["scope"]


@st.cache_data(ttl=600, show_spinner=False)
def _region_options(url: str, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    with _engine_for(url).connect() as conn:
        return counties(conn, scope), townships(conn, scope)


def region_frames(scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _region_options(config.database_url(), scope)


def sidebar_filters() -> Filters:
    """The one sidebar filter: period, county, township, domain, channel.

    Rendered by the entry point before any page runs, so selections persist across
    pages; pages read the result with `current_filters()`.
    """
    scope = current_scope()
    county_frame, township_frame = region_frames(scope)
    today = config.today()
    with st.sidebar:
        st.markdown(f"**{scope.name}** · 数据截至 {today:%Y年%m月%d日}")
        period = st.date_input(
            "统计期间",
            value=(dt.date(today.year, 1, 1), today),
            max_value=today,
            format="YYYY-MM-DD",
            key="filter_period",
            help="按登记日期统计收件；积案与督办颜色取期末时点。",
        )
        if isinstance(period, (tuple, list)):
            start = period[0] if len(period) > 0 else dt.date(today.year, 1, 1)
            end = period[1] if len(period) > 1 else start
        else:
            start = end = period
        county_names = dict(zip(county_frame["code"], county_frame["name"], strict=True))
        county = st.selectbox(
            "县区",
            [ALL, *county_names],
            format_func=lambda code: county_names.get(code, code),
            key="filter_county",
        )
        towns = township_frame if county == ALL else township_frame[township_frame["county_code"] == county]
        town_names = dict(zip(towns["code"], towns["name"], strict=True))
        township = st.selectbox(
            "乡镇（街道）",
            [ALL, *town_names],
            format_func=lambda code: town_names.get(code, code),
            key="filter_township",
        )
        domains = st.multiselect(
            "问题类别", list(DOMAINS), format_func=DOMAINS.get, key="filter_domains",
            placeholder="全部类别",
        )
        channels = st.multiselect(
            "信访形式", list(CHANNELS), format_func=CHANNELS.get, key="filter_channels",
            placeholder="全部形式",
        )
    filters = Filters(
        date_from=start,
        date_to=end,
        county_code=None if county == ALL else county,
        township_code=None if township == ALL or township not in town_names else township,
        domains=tuple(domains),
        channels=tuple(channels),
    )
    st.session_state["filters"] = filters
    return filters


def current_filters() -> Filters:
    return st.session_state.get("filters") or Filters()


def describe_filters(scope: Scope, filters: Filters) -> str:
    """One line saying what the figures on the page cover."""
    start, end = filters.period
    county_frame, township_frame = region_frames(scope)
    parts = [f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}"]
    region = scope.name
    if filters.county_code:
        region = county_frame.set_index("code")["name"].get(filters.county_code, filters.county_code)
    if filters.township_code:
        region += " " + township_frame.set_index("code")["name"].get(
            filters.township_code, filters.township_code
        )
    parts.append(region)
    if filters.domains:
        parts.append("类别：" + "、".join(DOMAINS[d] for d in filters.domains))
    if filters.channels:
        parts.append("形式：" + "、".join(CHANNELS[c] for c in filters.channels))
    return " · ".join(parts)


# ---------------------------------------------------------------- figures


def percent(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}"


def rate_delta(current: float | None, previous: float | None) -> str | None:
    """Change in percentage points against the same period last year."""
    if current is None or previous is None:
        return None
    return f"{(current - previous) * 100:+.1f} 个百分点"


def kpi_tile(column, title: str, value: str, delta: str | None = None, help: str | None = None,
             delta_color: str = "normal") -> None:
    column.metric(title, value, delta=delta, help=help, border=True, delta_color=delta_color)


def color_swatch(color: str, text: str | None = None) -> str:
    r, g, b = COLOR_RGB[color]
    return (
        f"<span style='display:inline-block;width:0.9em;height:0.9em;border-radius:2px;"
        f"background:rgb({r},{g},{b});margin-right:0.3em;vertical-align:middle'></span>"
        f"{text or COLORS[color]}"
    )


def color_legend() -> None:
    """Legend of the three-color rule (domain.md §5, city default)."""
    st.markdown(
        "&emsp;".join(
            [
                color_swatch("red", "红色：已超期，或积案超过化解目标日期"),
                color_swatch("yellow", "黄色：剩余 5 天以内，或已用时限 80% 以上"),
                color_swatch("green", "绿色：正常办理"),
            ]
        ),
        unsafe_allow_html=True,
    )


def color_tiles(counts: dict[str, int]) -> None:
    columns = st.columns(3)
    for column, color in zip(columns, ("red", "yellow", "green"), strict=True):
        column.markdown(color_swatch(color, f"**{COLORS[color]}**"), unsafe_allow_html=True)
        column.metric(COLORS[color] + "件数", f"{counts.get(color, 0):,}", label_visibility="collapsed")


# ---------------------------------------------------------------- tables


def localize_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """A case list with Chinese labels and headers, ready to show or export."""
    out = frame.copy()
    for column, mapping in (("domain", DOMAINS), ("channel", CHANNELS), ("stage", STAGES | {"clearance": "积案化解"}),
                            ("color", COLORS)):
        if column in out:
            out[column] = out[column].map(lambda code, m=mapping: label(m, code) if isinstance(code, str) else "")
    columns = [c for c in CASE_COLUMN_LABELS if c in out]
    return out[columns].rename(columns=CASE_COLUMN_LABELS)


def _color_cell(value: str) -> str:
    for color, name in COLORS.items():
        if value == name:
            r, g, b = COLOR_RGB[color]
            return f"background-color: rgba({r},{g},{b},0.25)"
    return ""


def case_table(frame: pd.DataFrame, *, key: str, height: int | str = "auto") -> None:
    """Show a case list (from `queries.cases`) with colored status cells."""
    if frame.empty:
        st.info("没有符合条件的案件。")
        return
    shown = localize_cases(frame)
    styled = shown.style.map(_color_cell, subset=["督办颜色"]) if "督办颜色" in shown else shown
    st.dataframe(styled, hide_index=True, height=height, key=key)


def neutralise(value):
    """Keep spreadsheet programs from running cell text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def download_buttons(frame: pd.DataFrame, name: str, caption: str, *, key: str) -> None:
    """CSV (UTF-8 with BOM for Excel) and Excel downloads of a shown table, with the
    filters written above the data."""
    safe = frame.map(neutralise) if not frame.empty else frame
    csv = io.StringIO()
    csv.write(f"{neutralise(caption)}\n")
    safe.to_csv(csv, index=False)
    excel = io.BytesIO()
    with pd.ExcelWriter(excel, engine="openpyxl") as writer:
        safe.to_excel(writer, index=False, startrow=2, sheet_name="数据")
        writer.sheets["数据"].cell(row=1, column=1, value=neutralise(caption))
    left, right, _ = st.columns([1, 1, 4])
    left.download_button("下载 Excel", excel.getvalue(), file_name=f"{name}.xlsx",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         key=f"{key}_xlsx")
    right.download_button("下载 CSV", ("\ufeff" + csv.getvalue()).encode("utf-8"), file_name=f"{name}.csv",
                          mime="text/csv", key=f"{key}_csv")
