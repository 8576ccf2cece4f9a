"""The sidebar filter (period, county, township, domain, channel), its link parameters
and the scope every page reads. Re-exported by `pages.widgets`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from dashboard import config
from dashboard.labels import CHANNELS, DOMAINS
from pages import session, widgets
from pages.markup import plain
from queries.filters import Filters, Scope
from queries.regions import counties, townships

ALL = "全部"
OUT_OF_SCOPE = "无权限：链接中的区划不在您的查看范围内（或不存在），未显示任何数据。请从左侧菜单重新进入。"


def current_scope() -> Scope:
    """The signed-in user's region scope: the only scope pages use."""
    scope = session.actor().scope
    if scope is None:  # the administrator sees no case data
        st.stop()
    return scope


@st.cache_data(ttl=600, show_spinner=False)
def _region_options(url: str, scope: Scope, generations: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    with widgets._engine_for(url).connect() as conn:
        return counties(conn, scope), townships(conn, scope)


@st.cache_data(ttl=600, show_spinner=False)
def _first_day(url: str, scope: Scope, generations: tuple) -> dt.date:
    from dashboard.models import cases
    from dashboard.scope import scope_condition

    with widgets._engine_for(url).connect() as conn:
        first = conn.execute(sa.select(sa.func.min(cases.c.registered_on)).where(scope_condition(scope))).scalar()
    return first or dt.date(config.today().year, 1, 1)


def first_day(scope: Scope) -> dt.date:
    """The earliest registration date in scope: periods start no earlier (a link with
    year 1 would make every page scan and chart two thousand years)."""
    return min(_first_day(config.database_url(), scope, widgets._generation_key("queries.kpi")), config.today())


def region_frames(scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _region_options(config.database_url(), scope, widgets._generation_key("queries.regions"))


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


