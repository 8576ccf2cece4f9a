"""Widgets shared by every page: engine, cached queries, sidebar filters, KPI tiles and
the color legend. Case tables and downloads live in `pages.tables`, maps in
`pages.maps` (both re-exported here for the pages). Page layout lives in the page modules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from dashboard import config, db
from dashboard.labels import CHANNELS, COLOR_RGB, COLORS, DOMAINS
from dashboard.permissions import Refused
from dashboard.rules import load_rules
from entrypoints.setup import OutdatedDatabase, ensure_database
from pages import session
from pages.maps import (  # noqa: F401  (pages call them through widgets)
    BACKLOG_PALETTE,
    HOVER,
    backlog_breaks,
    backlog_class,
    backlog_legend,
    backlog_polygons,
    map_view,
)
from pages.markup import plain  # noqa: F401  (pages call widgets.plain)
from pages.tables import (  # noqa: F401  (pages call them through widgets)
    MAX_SHOWN_ROWS,
    PROVISIONAL_NOTE,
    case_table,
    download_buttons,
    export_button,
    localize_cases,
    open_case,
    open_case_filters,
)
from queries.filters import Filters, Scope
from queries.regions import counties, townships

ALL = "全部"
OUT_OF_SCOPE = "无权限：链接中的区划不在您的查看范围内（或不存在），未显示任何数据。请从左侧菜单重新进入。"



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
            help="按登记日期统计信访量；积案与督办颜色取期末时点。",
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


def yoy_text(value: float | None) -> str | None:
    """同比上升 23.5% / 同比下降 4.0% / 同比持平."""
    if value is None or pd.isna(value):
        return None
    return "同比持平" if value == 0 else f"同比{'上升' if value > 0 else '下降'} {abs(value):.1%}"


def rate_delta(current: float | None, previous: float | None) -> str | None:
    """Change in percentage points against the same period last year."""
    if current is None or previous is None:
        return None
    return f"{(current - previous) * 100:+.1f} 个百分点"


def kpi_tile(column, title: str, value: str, delta: str | None = None, help: str | None = None,
             delta_color: str = "normal", *, change: bool = True) -> None:
    """A figure with its label. `delta` is drawn with an arrow only when it is a change
    (`change`); a figure beside the value (e.g. 已化解 160 / 180 件) gets no arrow."""
    column.metric(title, value, delta=delta, help=help, border=True,
                  delta_color=delta_color if change else "off", delta_arrow="auto" if change else "off")


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
    """The three color counts, each number in its own color."""
    columns = st.columns(3)
    for column, color in zip(columns, ("red", "yellow", "green"), strict=True):
        with column.container(key=f"color_tile_{color}"):
            st.markdown(color_swatch(color, f"**{COLORS[color]}**"), unsafe_allow_html=True)
            st.metric(COLORS[color] + "件数", f"{counts.get(color, 0):,}", label_visibility="collapsed")


# ---------------------------------------------------------------- look and banners

# Streamlit's own English that cannot be translated is hidden and replaced by Chinese
# captions beside the widget (the uploader's "Drag and drop", "Limit 50MB per file",
# "Upload"); figures wrap instead of being cut off; selections are never purple.
PAGE_STYLE = """
<style>
[data-testid="stMetricValue"] > div { white-space: normal; overflow: visible; text-overflow: clip; }
[data-testid="stMetricValue"] { overflow: visible; }
[data-testid="stMetricDelta"] > div { white-space: normal; overflow: visible; }
.st-key-color_tile_red [data-testid="stMetricValue"], .st-key-headline_red [data-testid="stMetricValue"]
  { color: rgb(214,39,40); }
.st-key-color_tile_yellow [data-testid="stMetricValue"] { color: rgb(176,128,0); }
.st-key-color_tile_green [data-testid="stMetricValue"] { color: rgb(44,140,44); }
.st-key-headline_backlog [data-testid="stMetricValue"], .st-key-headline_red [data-testid="stMetricValue"]
  { font-size: 2.6rem; font-weight: 700; }
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small { font-size: 0 !important; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after
  { content: "将文件拖到这里，或点击右侧按钮选择"; font-size: 0.9rem; }
[data-testid="stFileUploaderDropzoneInstructions"] small::after
  { content: "单个文件不超过 50 MB"; font-size: 0.8rem; }
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"] { font-size: 0 !important; }
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"]::after
  { content: "选择文件"; font-size: 0.9rem; }
[data-testid="stStatusWidget"] * { font-size: 0 !important; }
[data-testid="stStatusWidget"]::after { content: "正在加载…"; font-size: 0.85rem; }
</style>
"""


def page_style() -> None:
    st.html(PAGE_STYLE)


def uploader_hint(kinds: str) -> None:
    """The Chinese hint under a file uploader (Streamlit's own words cannot be set)."""
    st.caption(f"点击“选择文件”或把文件拖进上面的框：{kinds}，单个文件不超过 50 MB。")


HOLIDAY_BANNER_FROM = (11, 1)  # the State Council publishes next year's schedule around November


def holiday_banner() -> None:
    """From 1 November, while next year's holiday schedule is not imported: deadlines
    running into next year are counted on weekends only and marked provisional. Shown
    to city-wide users (the bureau, the city leaders) and whoever may import it."""
    from dashboard.permissions import allowed
    from dashboard.workdays import schedule_years

    signed_in = session.actor()
    if not (allowed(signed_in, "settings") or (signed_in.scope is not None and signed_in.scope.level == "city")):
        return
    today = config.today()
    if (today.month, today.day) < HOLIDAY_BANNER_FROM:
        return
    with engine().connect() as conn:
        years = {y["year"]: y["source"] for y in schedule_years(conn)}
    if years.get(today.year + 1, "weekends") != "weekends":
        return
    message = (f"**{today.year + 1} 年节假日安排尚未导入**：期限落在 {today.year + 1} 年的案件暂按周末推算，"
               "标为“暂定”，遇春节等长假可能算早。国务院办公厅公布安排后，请在“设置 → 节假日安排”导入，"
               "系统会重新计算这些期限。")
    st.warning(message, icon=":material/event_busy:")
    if allowed(signed_in, "settings"):
        st.page_link("pages/settings.py", label="去“设置”导入节假日安排 →")
