"""Widgets shared by every page: engine, cached queries, sidebar filters, KPI tiles and
the color legend. Case tables and downloads live in `pages.tables`, maps in
`pages.maps` (both re-exported here for the pages). Page layout lives in the page modules."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from dashboard import config, db
from dashboard.labels import COLOR_RGB, COLORS, percent_text
from dashboard.permissions import Refused
from dashboard.rules import load_rules
from entrypoints.setup import OutdatedDatabase, ensure_database
from pages import session
from pages.filters import (  # noqa: F401  (pages call them through widgets)
    ALL,
    FILTER_PARAMS,
    OUT_OF_SCOPE,
    current_filters,
    current_scope,
    describe_filters,
    drill_params,
    filter_query,
    first_day,
    link_params,
    page_url,
    region_frames,
    sidebar_filters,
)
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
    download_buttons_for,
    export_button,
    localize_cases,
    open_case,
    open_case_choices,
    open_case_filters,
)
from queries.filters import Filters, Scope

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


# ---------------------------------------------------------------- figures


def percent(value: float | None) -> str:
    return percent_text(value)


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
    """The three color counts, each number in its own color, side by side at any width."""
    row = st.container(horizontal=True, gap="small", wrap=False)  # side by side on a phone too
    for color in ("red", "yellow", "green"):
        with row.container(key=f"color_tile_{color}", width="stretch"):
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
[data-testid="stFileUploaderDropzoneInstructions"] span { display: none !important; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::after
  { content: "单个文件不超过 50 MB"; font-size: 0.85rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none !important; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "选择文件"; }
[data-tag][aria-label="红色"] { background-color: rgb(214,39,40) !important; color: #fff !important; }
[data-tag][aria-label="黄色"] { background-color: rgb(240,180,0) !important; color: #222 !important; }
[data-tag][aria-label="黄色"] button { color: #222 !important; }
[data-tag][aria-label="绿色"] { background-color: rgb(44,160,44) !important; color: #fff !important; }
[data-testid="stStatusWidget"] > * { display: none !important; }
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
    can_import = allowed(signed_in, "settings")
    message = (f"**{today.year + 1} 年节假日安排未导入**：落在 {today.year + 1} 年的期限暂按周末推算，为“暂定”。"
               + ("公布后请在“设置 → 节假日安排”导入。" if can_import else "请信访局在安排公布后导入。"))
    st.warning(message)
    if can_import:
        st.page_link("pages/settings.py", label="去“设置”导入节假日安排 →")


# Streamlit's own "Page not found" box is English and blocks the page until closed: it is
# closed at once (from a same-origin component frame) and a Chinese notice shown instead.
CLOSE_NOT_FOUND = """<script>
const doc = window.parent.document;
function closeNotFound() {
  for (const box of doc.querySelectorAll('section[role="dialog"]')) {
    const title = box.querySelector('h2');
    const close = box.querySelector('button[aria-label="Close"]');
    if (title && title.textContent.trim() === "Page not found" && close) { close.click(); }
  }
}
closeNotFound();
for (const wait of [100, 300, 800, 1500, 3000]) { setTimeout(closeNotFound, wait); }
</script>"""


def unknown_page_notice(known_paths: set[str]) -> None:
    """A link to a page that does not exist opens the home page (Streamlit does that):
    say so in Chinese, once per session, and close Streamlit's English box."""
    from urllib.parse import urlparse

    try:
        requested = urlparse(st.context.url or "").path.strip("/")
    except Exception:  # no browser context (tests)
        return
    if not requested or requested in known_paths or st.session_state.get("unknown_page_seen") == requested:
        return
    st.session_state["unknown_page_seen"] = requested
    st.iframe(CLOSE_NOT_FOUND, height=1)  # fixed HTML of ours (same-origin frame, to reach the box)
    st.info(f"没有“/{plain(requested)}”这个页面，已为您打开首页。请从左侧菜单选择要看的页面。")
