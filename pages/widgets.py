"""Widgets shared by every page: engine, cached queries, sidebar filters, KPI tiles,
color legend, case tables and downloads. Page layout lives in the page modules."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pydeck as pdk
import sqlalchemy as sa
import streamlit as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from dashboard import config, db
from dashboard.exports import csv_bytes, excel_bytes
from dashboard.labels import CHANNELS, COLOR_RGB, COLORS, DOMAINS, STAGES, label
from dashboard.permissions import Refused
from dashboard.rules import load_rules
from entrypoints.setup import OutdatedDatabase, ensure_database
from pages import session
from pages.markup import plain  # noqa: F401  (pages call widgets.plain)
from queries.filters import Filters, Scope
from queries.regions import counties, townships

ALL = "全部"
OUT_OF_SCOPE = "无权限：链接中的区划不在您的查看范围内（或不存在），未显示任何数据。请从左侧菜单重新进入。"
PROVISIONAL_NOTE = "暂定：该年节假日安排未导入，仅按周末推算"

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
    try:
        _prepare_database(config.database_url())
    except OutdatedDatabase as error:
        st.error(plain(error))
        st.stop()


@st.cache_data(ttl=300, show_spinner="正在查询…")
def _cached(url: str, name: str, _func, scope: Scope, filters: Filters, args: tuple, generations: tuple):
    with _engine_for(url).connect() as conn:
        return _func(conn, scope, filters, *args)


# What each query module's results depend on. An action names the subjects it changes
# (`dashboard.actions`, attribute `invalidates`); their cached results are dropped by
# bumping the subjects' generations, which are part of the cache key.
CASE_DATA = ("cases", "rules", "regions")
QUERY_SUBJECTS = {
    "queries.regions": ("regions",),
    "queries.reminders": (*CASE_DATA, "reminders"),
    "queries.spot_check": (*CASE_DATA, "draws", "meetings"),
    "queries.meetings": (*CASE_DATA, "draws", "meetings"),
    "queries.supervision": (*CASE_DATA, "meetings"),
    "queries.accountability": (*CASE_DATA, "meetings", "accountability"),
    "queries.receptions": (*CASE_DATA, "accountability"),
    "queries.warnings": (*CASE_DATA, "warnings"),
    "queries.forecast": (*CASE_DATA, "targets"),
}


@st.cache_resource(show_spinner=False)
def _generations() -> dict[str, int]:
    return {}


def _generation_key(module: str) -> tuple[int, ...]:
    generations = _generations()
    return tuple(generations.get(subject, 0) for subject in QUERY_SUBJECTS.get(module, CASE_DATA))


def invalidate(subjects) -> None:
    generations = _generations()
    for subject in subjects:
        generations[subject] = generations.get(subject, 0) + 1


def run_query(func, scope: Scope, filters: Filters, *args):
    """Run a `queries` function with the page's scope and filters, cached for 5 minutes
    (or until an action changes what it depends on)."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _cached(config.database_url(), name, func, scope, filters, args, _generation_key(func.__module__))


def run_action(action, *args, **kwargs):
    """Call an action (`dashboard.actions`) as the signed-in user and drop the cached
    data it changes. A refusal is shown and stops the page; other errors go to the
    caller, which shows them next to its form."""
    try:
        result = action(engine(), session.actor(), *args, **kwargs)
    except Refused as error:
        st.error(plain(error))
        st.stop()
    except OperationalError as error:
        if not db.is_busy(error):
            raise
        st.error(db.BUSY_MESSAGE)
        st.stop()
    invalidate(action.invalidates)
    return result


# ---------------------------------------------------------------- scope and filters


def current_scope() -> Scope:
    """The signed-in user's region scope: the only scope pages use."""
    scope = session.actor().scope
    if scope is None:  # the administrator sees no case data
        st.stop()
    return scope


@st.cache_data(ttl=600, show_spinner=False)
def _region_options(url: str, scope: Scope, generations: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    with _engine_for(url).connect() as conn:
        return counties(conn, scope), townships(conn, scope)


@st.cache_data(ttl=600, show_spinner=False)
def _first_day(url: str, scope: Scope, generations: tuple) -> dt.date:
    from dashboard.models import cases
    from dashboard.scope import scope_condition

    with _engine_for(url).connect() as conn:
        first = conn.execute(sa.select(sa.func.min(cases.c.registered_on)).where(scope_condition(scope))).scalar()
    return first or dt.date(config.today().year, 1, 1)


def first_day(scope: Scope) -> dt.date:
    """The earliest registration date in scope: periods start no earlier (a link with
    year 1 would make every page scan and chart two thousand years)."""
    return min(_first_day(config.database_url(), scope, _generation_key("queries.kpi")), config.today())


def region_frames(scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _region_options(config.database_url(), scope, _generation_key("queries.regions"))


def sidebar_filters() -> Filters:
    """The one sidebar filter: period, county, township, domain, channel.

    Rendered by the entry point before any page runs, so selections persist across
    pages; pages read the result with `current_filters()`.
    """
    scope = current_scope()
    county_frame, township_frame = region_frames(scope)
    today = config.today()
    earliest = first_day(scope)
    if "filters_from_link" not in st.session_state:  # a shared link restores its filters
        st.session_state["filters_from_link"] = True
        _restore_filters(county_frame, township_frame, today, earliest)
    with st.sidebar:
        st.markdown(f"**{plain(scope.name)}** · 数据截至 {today:%Y年%m月%d日}")
        period = st.date_input(
            "统计期间",
            # A link's period is the initial value (not written to the widget's state,
            # which Streamlit warns about when a default value is given too).
            value=st.session_state.get("filter_period_from_link", (dt.date(today.year, 1, 1), today)),
            min_value=earliest,
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
    if "period_notice" in st.session_state:
        st.info(st.session_state.pop("period_notice"))
    for key, value in filter_query(filters, today).items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    for key in set(FILTER_PARAMS) - set(filter_query(filters, today)):
        if key in st.query_params:
            del st.query_params[key]
    return filters


FILTER_PARAMS = ("from", "to", "county", "town", "domain", "channel")


def filter_query(filters: Filters, today: dt.date | None = None) -> dict[str, str]:
    """The sidebar filters as URL parameters (defaults left out), for shareable links."""
    today = today or config.today()
    start, end = filters.period
    params = {}
    if start != dt.date(today.year, 1, 1) or end != today:
        params |= {"from": start.isoformat(), "to": end.isoformat()}
    if filters.county_code:
        params["county"] = filters.county_code
    if filters.township_code:
        params["town"] = filters.township_code  # "township" is the heatmap's own selection
    if filters.domains:
        params["domain"] = ",".join(filters.domains)
    if filters.channels:
        params["channel"] = ",".join(filters.channels)
    return params


def _restore_filters(county_frame: pd.DataFrame, township_frame: pd.DataFrame, today: dt.date,
                     earliest: dt.date) -> None:
    """Set the sidebar widgets from the link's parameters; unknown values are ignored,
    dates are kept within the data's range (with a notice), regions outside the user's
    scope are refused."""
    params = st.query_params
    try:
        start = dt.date.fromisoformat(params["from"]) if "from" in params else None
        end = dt.date.fromisoformat(params["to"]) if "to" in params else None
    except ValueError:
        start = end = None
        st.session_state["period_notice"] = "链接中的日期格式不对（应为 YYYY-MM-DD），已使用默认期间（本年初至今天）。"
    if start or end:
        given = (start, end)
        end = min(max(end or today, earliest), today)
        start = min(max(start or dt.date(end.year, 1, 1), earliest), end)
        if (given[0] and given[0] != start) or (given[1] and given[1] != end):
            st.session_state["period_notice"] = (f"链接中的日期超出数据范围（{earliest:%Y-%m-%d} 至 {today:%Y-%m-%d}），"
                                                 f"已调整为 {start:%Y-%m-%d} 至 {end:%Y-%m-%d}。")
        st.session_state["filter_period_from_link"] = (start, end)
    county = params.get("county")
    township = params.get("town")
    # The scope comes from the user, never from the link: a region outside it is refused.
    for code, known in ((county, county_frame["code"]), (township, township_frame["code"])):
        if code and code not in set(known):
            session.refuse(OUT_OF_SCOPE, target=f"链接区划 {code}")
    if county:
        st.session_state["filter_county"] = county
    towns = township_frame if county is None else township_frame[township_frame["county_code"] == county]
    if township in set(towns["code"]):
        st.session_state["filter_township"] = township
    domains = [d for d in params.get("domain", "").split(",") if d in DOMAINS]
    channels = [c for c in params.get("channel", "").split(",") if c in CHANNELS]
    if domains:
        st.session_state["filter_domains"] = domains
    if channels:
        st.session_state["filter_channels"] = channels


def link_params(**params: str) -> dict[str, str]:
    """Query parameters of a link: the current filters plus the given ones."""
    return filter_query(current_filters()) | {k: v for k, v in params.items() if v}


def drill_params(region_code: str, filters: Filters | None = None) -> dict[str, str]:
    """Parameters of a link to the drill-down page at a region: the period, domain and
    channel filters and `region`, without the sidebar's county / township (the drill
    level replaces them)."""
    filters = filters or current_filters()
    kept = Filters(filters.date_from, filters.date_to, domains=filters.domains, channels=filters.channels)
    return filter_query(kept) | {"region": region_code}


def page_url(path: str, **params: str) -> str:
    """A relative link to a page with the current filters and extra parameters."""
    from urllib.parse import urlencode

    query = link_params(**params)
    return path + ("?" + urlencode(query) if query else "")


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
    """Legend of the three-color rule as configured (city default, county exceptions)."""
    with engine().connect() as conn:
        book = load_rules(conn)
    rule = book.default
    red = "红色：" + "，或".join(
        [text for on, text in ((rule.red_past_deadline, "已超期"),
                               (rule.red_backlog_past_target, "积案超过化解目标日期")) if on]
    ) if (rule.red_past_deadline or rule.red_backlog_past_target) else None
    parts = [
        color_swatch("red", red) if red else None,
        color_swatch("yellow", f"黄色：剩余 {rule.yellow_days_left} 天以内，或已用时限 {rule.yellow_used_share:.0%} 以上"),
        color_swatch("green", "绿色：正常办理"),
    ]
    st.markdown("&emsp;".join(p for p in parts if p), unsafe_allow_html=True)
    if book.by_region:
        county_frame, _ = region_frames(current_scope())
        names = county_frame.set_index("code")["name"]
        st.caption("以上为全市默认；" + "、".join(names.get(c, c) for c in sorted(book.by_region))
                   + " 另定阈值（见“设置”页）。")


def color_tiles(counts: dict[str, int]) -> None:
    columns = st.columns(3)
    for column, color in zip(columns, ("red", "yellow", "green"), strict=True):
        column.markdown(color_swatch(color, f"**{COLORS[color]}**"), unsafe_allow_html=True)
        column.metric(COLORS[color] + "件数", f"{counts.get(color, 0):,}", label_visibility="collapsed")


# ---------------------------------------------------------------- maps

# The one color scale of unresolved backlog on maps: light to dark red in five classes
# of equal width; class 0 (light grey) for regions with none.
BACKLOG_PALETTE = [(236, 236, 236), (254, 229, 217), (252, 174, 145), (251, 106, 74), (222, 45, 38),
                   (165, 15, 21)]


def backlog_breaks(maximum: int) -> list[int]:
    """Upper bounds of the five non-empty classes (equal intervals, whole numbers)."""
    step = max(1, math.ceil(maximum / 5))
    return [step * i for i in range(1, 6)]


def backlog_class(value: int, breaks: list[int]) -> int:
    if value <= 0:
        return 0
    return next(i for i, upper in enumerate(breaks, start=1) if value <= upper or i == 5)


def backlog_legend(breaks: list[int]) -> None:
    def swatch(rgb: tuple[int, int, int], text: str) -> str:
        r, g, b = rgb
        return (f"<span style='display:inline-block;width:1.6em;height:0.9em;background:rgb({r},{g},{b});"
                f"border:1px solid #999;vertical-align:middle;margin-right:0.3em'></span>{text}")

    items = [swatch(BACKLOG_PALETTE[0], "0")]
    lower = 1
    for i, upper in enumerate(breaks, start=1):
        items.append(swatch(BACKLOG_PALETTE[i], f"{lower}–{upper}" if upper > lower else f"{upper}"))
        lower = upper + 1
    st.markdown("图例（未化解积案，件）：" + "&emsp;".join(items), unsafe_allow_html=True)


def backlog_polygons(shapes: pd.DataFrame, records: list[dict], key: str, value: str,
                     breaks: list[int]) -> list[dict]:
    """One PolygonLayer row per polygon of each record's region (`shapes`: code and
    boundary GeoJSON), filled by the record's `value` class; the record's fields go
    along for tooltips and selections."""
    boundaries = shapes.set_index("code")["boundary"]
    rows = []
    for record in records:
        boundary = boundaries.get(record[key])
        if not boundary:
            continue
        shape = json.loads(boundary)
        polygons = shape["coordinates"] if shape["type"] == "MultiPolygon" else [shape["coordinates"]]
        fill = list(BACKLOG_PALETTE[backlog_class(int(record[value]), breaks)]) + [220]
        rows += [{"polygon": polygon[0], "fill": fill, **record} for polygon in polygons]
    return rows


def map_view(polygons: list[dict], width: int, height: int) -> pdk.ViewState:
    """A view that frames the polygons (rows of `backlog_polygons`) in a map of about
    `width` × `height` pixels (deck.gl: 512 pixels show 360° at zoom 0)."""
    points = [point for row in polygons for point in row["polygon"]]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon_span = max(max(lons) - min(lons), 0.01)
    lat_span = max(max(lats) - min(lats), 0.01) / math.cos(math.radians((max(lats) + min(lats)) / 2))
    zoom = math.log2(min(360 / lon_span * width / 512, 360 / lat_span * height / 512)) - 0.1
    return pdk.ViewState(longitude=(max(lons) + min(lons)) / 2, latitude=(max(lats) + min(lats)) / 2,
                         zoom=max(1.0, zoom))


# ---------------------------------------------------------------- tables


def localize_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """A case list with Chinese labels and headers, ready to show or export."""
    out = frame.copy()
    for column, mapping in (("domain", DOMAINS), ("channel", CHANNELS), ("stage", STAGES),
                            ("color", COLORS)):
        if column in out:
            out[column] = out[column].map(lambda code, m=mapping: label(m, code) if isinstance(code, str) else "")
    if "provisional" in out:
        out["provisional"] = out["provisional"].map(lambda p: PROVISIONAL_NOTE if p is True else "")
    columns = [c for c in CASE_COLUMN_LABELS if c in out]
    return out[columns].rename(columns=CASE_COLUMN_LABELS)


def _color_cell(value: str) -> str:
    for color, name in COLORS.items():
        if value == name:
            r, g, b = COLOR_RGB[color]
            return f"background-color: rgba({r},{g},{b},0.25)"
    return ""


MAX_SHOWN_ROWS = 1_000  # a browser table of tens of thousands of rows helps nobody


def case_table(frame: pd.DataFrame, *, key: str, height: int | str = "auto", download: str | None = None) -> None:
    """Show a case list (from `queries.cases`) with colored status cells; selecting a
    row opens the case detail page. With `download` (a title), Excel/CSV buttons too.

    Long lists show their first `MAX_SHOWN_ROWS` rows (lists come most urgent first);
    the downloads always hold every row."""
    if frame.empty:
        st.info("没有符合条件的案件。")
        return
    shown_rows = frame.head(MAX_SHOWN_ROWS)
    shown = localize_cases(shown_rows)
    styled = shown.style.map(_color_cell, subset=["督办颜色"]) if "督办颜色" in shown else shown
    event = st.dataframe(styled, hide_index=True, height=height, key=key, on_select="rerun",
                         selection_mode="single-row")
    if len(frame) > MAX_SHOWN_ROWS:
        st.caption(f"共 {len(frame):,} 件，表中列出前 {MAX_SHOWN_ROWS:,} 件；完整清单请下载。勾选行首方框可打开该案件详情。")
    else:
        st.caption("勾选行首方框可打开该案件详情。")
    if download:
        download_buttons(localize_cases(frame), download,
                         f"{download} · {describe_filters(current_scope(), current_filters())}",
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
    filters written above the data. The files are built only when a button is pressed."""
    left, right, _ = st.columns([1, 1, 4])
    export_button(left, "下载 Excel", lambda: excel_bytes(frame, caption), file_name=f"{name}.xlsx",
                  mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                  what=caption, permission=permission)
    export_button(right, "下载 CSV", lambda: csv_bytes(frame, caption), file_name=f"{name}.csv",
                  mime="text/csv", key=f"{key}_csv", what=caption, permission=permission)


def download_buttons_for(make_frame, name: str, caption: str, *, key: str) -> None:
    """`download_buttons` for a list fetched only when a button is pressed (a page shows
    the first rows of a long list; the download holds all of them)."""
    left, right, _ = st.columns([1, 1, 4])
    export_button(left, "下载 Excel", lambda: excel_bytes(make_frame(), caption), file_name=f"{name}.xlsx",
                  mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                  what=caption)
    export_button(right, "下载 CSV", lambda: csv_bytes(make_frame(), caption), file_name=f"{name}.csv",
                  mime="text/csv", key=f"{key}_csv", what=caption)


def export_button(container, label: str, build, *, file_name: str, mime: str, key: str, what: str,
                  permission: str = "export") -> None:
    """A download button whose file is built when asked for; each download leaves an
    audit record (who downloaded what, with which filters). `permission`: the one the
    table needs (the user list and the audit log: "users", "audit")."""
    signed_in, url = session.actor(), config.database_url()

    def build_and_audit() -> bytes:
        from dashboard import actions

        actions.export(_engine_for(url), signed_in, file_name, detail=what[:500], permission=permission)
        return build()

    container.download_button(label, build_and_audit, file_name=file_name, mime=mime, key=key, on_click="ignore")
