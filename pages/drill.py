"""逐级下钻 region drill-down: city → county → township → case, with the indicators,
sub-regions (table and map), monthly movement, domain and channel mix, the open cases
and all cases of the period. Every view is a link (?region=…&from=…&to=… and the
open-case filters drill_colors / drill_stages / drill_unit); moving to another region
adds a browser history entry, so the back button returns to the previous level."""

from urllib.parse import urlencode

import altair as alt
import pandas as pd
import pydeck as pdk
import streamlit as st

from dashboard.labels import CHANNELS, DOMAINS, label
from dashboard.scope import region_in_scope
from pages import charts, ensure_navigation, session, widgets
from queries.cases import open_cases_page, period_cases
from queries.drill import mix, monthly_trend
from queries.filters import Filters, scope_for
from queries.kpi import indicators, indicators_by_region
from queries.regions import counties, region_list, townships

ensure_navigation()
actor = session.require("view")

# The period's cases are listed for a county or township, at most this many: a longer list
# is slow to draw on every run (a city's year runs to tens of thousands of cases).
PERIOD_ROWS_SHOWN = 1_000

caller = widgets.current_scope()
filters = widgets.current_filters()
# The drill level replaces the sidebar's county / township choice.
filters = Filters(filters.date_from, filters.date_to, domains=filters.domains, channels=filters.channels)

code = st.query_params.get("region") or caller.region_code
with widgets.engine().connect() as conn:
    # The link may name any region; only one inside the user's own scope is shown.
    region = scope_for(conn, code) if region_in_scope(conn, caller, code) else None
if region is None:
    session.refuse(widgets.OUT_OF_SCOPE, target=f"链接区划 {code}")
# Always written: the write is what puts a link's new region into the address bar (and
# the browser history) when the page is reached from a link to itself.
st.query_params["region"] = region.region_code


# The open-case filters (kept in the address by their widgets) travel with the links to
# other levels, so the address always shows what the page shows.
case_filters = {name: st.query_params.get_all(name) for name in ("drill_colors", "drill_stages", "drill_unit")
                if st.query_params.get_all(name)}


def level_params(region_code: str) -> dict[str, str | list[str]]:
    return widgets.drill_params(region_code) | case_filters


st.title("逐级下钻")
trail = [(caller.region_code, caller.name)]
if region.level in ("county", "township") and caller.level == "city":
    trail.append((region.region_code[:6], None))
if region.level == "township":
    trail.append((region.region_code, None))
names: dict[str, str] = {}
with widgets.engine().connect() as conn:
    for level in ("county", "township"):
        frame = region_list(conn, caller, level)
        names.update(dict(zip(frame["code"], frame["name"], strict=True)))
names[caller.region_code] = caller.name
# Breadcrumbs and sub-region links navigate inside the app (page links keep the tab
# and add a browser history entry, so "back" returns to the previous level).
crumb_columns = st.columns([1] * len(trail) + [max(1, 8 - len(trail))], gap="small")
for i, (crumb, _) in enumerate(trail):
    name = names.get(crumb, crumb)
    with crumb_columns[i]:
        if i == len(trail) - 1:
            st.markdown(f"**{widgets.plain(name)}**")
        else:
            st.page_link("pages/drill.py", label=f"{name} ›", query_params=level_params(crumb))
st.caption(widgets.describe_filters(region, filters))

now = widgets.run_query(indicators, region, filters)
row = st.columns(5)
widgets.kpi_tile(row[0], "信访总量（件）", f"{now['total']:,}",
                 widgets.yoy_text(now["yoy"]), delta_color="off")
widgets.kpi_tile(row[1], "及时受理率", widgets.percent(now["timely_acceptance_rate"]))
widgets.kpi_tile(row[2], "按期办结率", widgets.percent(now["on_time_closure_rate"]))
widgets.kpi_tile(row[3], "满意率", widgets.percent(now["satisfaction_rate"]))
widgets.kpi_tile(row[4], "积案化解率", widgets.percent(now["backlog_resolution_rate"]),
                 f"未化解 {now['backlog_total'] - now['backlog_resolved']:,} 件", change=False)
# The open cases get a row of their own: one tile per color stays readable at any width.
row = st.columns(5)
colors = now["colors"]
widgets.kpi_tile(row[0], "期末在办（件）", f"{sum(colors.values()):,}", help="期末未办结的案件和未化解的积案")
for column, color, title in ((row[1], "red", "红色（超期）"), (row[2], "yellow", "黄色（临期）"),
                             (row[3], "green", "绿色（正常）")):
    with column.container(key=f"color_tile_{color}"):
        widgets.kpi_tile(st, title, f"{colors[color]:,}")

if region.level != "township":
    child = "乡镇（街道）" if region.level == "county" else "县区"
    st.subheader(f"下级{child}")
    subs = widgets.run_query(indicators_by_region, region, filters)
    left, right = st.columns([3, 2])
    with left:
        table = pd.DataFrame({
            child: subs["name"],
            "信访总量": subs["total"],
            "及时受理率": subs["timely_acceptance_rate"] * 100,
            "按期办结率": subs["on_time_closure_rate"] * 100,
            "满意率": subs["satisfaction_rate"] * 100,
            "未化解积案": subs["backlog_unresolved"],
            "积案化解率": subs["backlog_resolution_rate"] * 100,
            "红色": subs["red"], "黄色": subs["yellow"], "绿色": subs["green"],
            "进入": ["drill?" + urlencode(level_params(c), doseq=True) for c in subs["code"]],
        })
        percent = st.column_config.NumberColumn(format="%.1f%%")
        st.dataframe(
            table, hide_index=True, key="drill_children",
            column_config={"及时受理率": percent, "按期办结率": percent, "满意率": percent, "积案化解率": percent,
                           "进入": st.column_config.LinkColumn("进入", display_text="下钻 ›")},
        )
        st.markdown("下钻：")
        links = st.columns(4)
        for i, (sub_code, sub_name) in enumerate(zip(subs["code"], subs["name"], strict=True)):
            links[i % 4].page_link("pages/drill.py", label=sub_name, query_params=level_params(sub_code))
    with right:
        shapes = widgets.run_query(counties if region.level == "city" else townships, region, filters, True)
        records = [{"code": code, "name": name, "value": int(value)} for code, name, value
                   in zip(subs["code"], subs["name"], subs["backlog_unresolved"], strict=True)]
        breaks = widgets.backlog_breaks([r["value"] for r in records])
        polygons = widgets.backlog_polygons(shapes, records, "code", "value", breaks)
        if polygons:
            layer = pdk.Layer("PolygonLayer", polygons, id="drill_regions", get_polygon="polygon",
                              get_fill_color="fill", get_line_color=[90, 90, 90], line_width_min_pixels=1,
                              pickable=True, auto_highlight=True, highlight_color=widgets.HOVER)
            # One map (and selection) per region: a selection made at this level must not
            # survive into the next one, where it would descend again on every run.
            event = st.pydeck_chart(
                pdk.Deck(layers=[layer], initial_view_state=widgets.map_view(polygons, 380, 360), map_provider=None,
                         tooltip={"text": "{name}\n未化解积案 {value} 件"}),
                on_select="rerun", selection_mode="single-object", key=f"drill_map_{region.region_code}",
                height=360,
            )
            picked = event.selection.objects.get("drill_regions", []) if event and event.selection else []
            if picked and picked[0].get("code") in set(subs["code"]):
                st.query_params["region"] = picked[0]["code"]
                st.rerun()
            widgets.backlog_legend(breaks)
            st.caption("点击地图上的区域可下钻。")
    widgets.download_buttons(table.drop(columns=["进入"]), f"{region.name}下级{child}指标",
                             f"{region.name}下级{child}指标 · {widgets.describe_filters(region, filters)}",
                             key="drill_children_download")

st.subheader("月度走势")
trend = widgets.run_query(monthly_trend, region, filters)
if trend.empty:
    st.info("所选期间没有月份数据。")
else:
    marked = charts.mark_partial(trend, filters.period[1])
    long = marked.melt(["month", "partial"], ["received", "closed", "resolved", "backlog_remaining"],
                       var_name="series", value_name="count")
    names_of = {"received": "信访量", "closed": "办结", "resolved": "积案化解", "backlog_remaining": "月末未化解积案"}
    long["series"] = long["series"].map(names_of)
    # Semantic colors: red only for the backlog still open, green for what was resolved.
    palette = alt.Scale(domain=list(names_of.values()), range=[charts.BLUE, charts.GREY, charts.GREEN, charts.RED])
    charts.show(
        alt.Chart(long).mark_line(point=True).encode(
            x=alt.X("month:N", title="月份", sort=marked["month"].tolist(), axis=alt.Axis(labelLimit=240)),
            y=alt.Y("count:Q", title="件数"),
            color=alt.Color("series:N", title=None, sort=list(names_of.values()), scale=palette,
                            legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("month:N", title="月份"), alt.Tooltip("series:N", title="指标"),
                     alt.Tooltip("count:Q", title="件数")],
        ),
        width="stretch",
    )
    if charts.partial_note(filters.period[1]):
        st.caption(charts.partial_note(filters.period[1]))
    widgets.download_buttons(trend.rename(columns={"month": "月份", **names_of}), f"{region.name}月度走势",
                             f"{region.name}月度走势 · {widgets.describe_filters(region, filters)}",
                             key="drill_trend_download")

left, right = st.columns(2)
mixes = []
for column, field, labels, title in ((left, "domain", DOMAINS, "问题类别"), (right, "channel", CHANNELS, "信访形式")):
    with column:
        st.subheader(title)
        frame = widgets.run_query(mix, region, filters, field)
        if frame.empty:
            st.caption("所选期间没有信访件。")
            continue
        frame["name"] = frame["code"].map(lambda c, m=labels: label(m, c))
        mixes.append(pd.DataFrame({"构成": title, "名称": frame["name"], "信访量（件）": frame["count"]}))
        charts.show(
            alt.Chart(frame).mark_bar().encode(
                y=alt.Y("name:N", title=None, sort="-x"), x=alt.X("count:Q", title="信访量（件）"),
                tooltip=[alt.Tooltip("name:N", title=title), alt.Tooltip("count:Q", title="件数")],
            ),
            width="stretch",
        )
if mixes:
    widgets.download_buttons(pd.concat(mixes, ignore_index=True), f"{region.name}问题类别与信访形式构成",
                             f"{region.name}问题类别与信访形式构成 · {widgets.describe_filters(region, filters)}",
                             key="drill_mix_download")

st.subheader("案件")
listed = region.level != "city"
received = widgets.run_query(period_cases, region, filters) if listed else None
start, end = filters.period
open_tab, all_tab = st.tabs([f"期末在办（{sum(colors.values()):,} 件）",
                             f"本期全部案件（{len(received):,} 件）" if listed else "本期全部案件"])
with open_tab:
    # Only the rows on screen are fetched (with the total); the download fetches them all.
    choice = widgets.open_case_choices(key="drill", in_link=True)
    first = widgets.run_query(open_cases_page, region, filters, *choice, 0, widgets.MAX_SHOWN_ROWS)
    total = int(first["total"].iloc[0]) if not first.empty else 0
    st.caption(f"共 {total:,} 件 · 期末（{end:%Y-%m-%d}）未办结的案件和未化解的积案，不论登记年份")
    widgets.case_table(first.drop(columns="total"), key="drill_cases", height=400, level=region.level)
    if total > len(first):
        st.caption(f"表中列出前 {len(first):,} 件；完整清单请下载。")

    def every_open_case() -> pd.DataFrame:
        with widgets.engine().connect() as conn:
            return widgets.localize_cases(
                open_cases_page(conn, region, filters, *choice, 0, None).drop(columns="total"))

    if total:
        widgets.download_buttons_for(every_open_case, f"{region.name}在办案件",
                                     f"{region.name}在办案件 · {widgets.describe_filters(region, filters)}",
                                     key="drill_cases_download")
with all_tab:
    if not listed:
        st.info(f"本期（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）全部案件按县区、乡镇列出：请在上方选择下级区域下钻。")
    else:
        note = (f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d} 登记的全部案件（含已办结），新登记的在前；"
                "已办结的案件没有环节和督办颜色。")
        if len(received) > PERIOD_ROWS_SHOWN:
            note += (f"共 {len(received):,} 件，这里列出最新登记的 {PERIOD_ROWS_SHOWN:,} 件；"
                     "其余案件请下钻到乡镇、缩短统计期间或按编号查询。")
        st.caption(note)
        widgets.case_table(received.head(PERIOD_ROWS_SHOWN), key="drill_period_cases", height=400,
                           download=f"{region.name}本期全部案件", level=region.level)
