"""三色督办 supervision: color counts per county and the list of open cases."""

import altair as alt
import streamlit as st

from dashboard.labels import COLOR_RGB, COLORS, STAGES
from dashboard.rules import COLOR_ORDER, count_colors
from pages import widgets
from queries.supervision import colors_by_county, open_cases

scope = widgets.current_scope()
filters = widgets.current_filters()

st.title("三色督办")
st.caption(widgets.describe_filters(scope, filters) + f" · 期末（{filters.as_of:%Y-%m-%d}）在办案件，不论登记年份")
widgets.color_legend()

cases = widgets.run_query(open_cases, scope, filters)
widgets.color_tiles(count_colors(cases))

st.subheader("各县区督办颜色分布")
by_county = widgets.run_query(colors_by_county, scope, filters)
long = by_county.melt(["county_code", "county_name"], list(COLOR_ORDER), var_name="color", value_name="count")
long["color_label"] = long["color"].map(COLORS)
long["order"] = long["color"].map({c: i for i, c in enumerate(COLOR_ORDER)})
chart = (
    alt.Chart(long)
    .mark_bar()
    .encode(
        y=alt.Y(
            "county_name:N",
            title=None,
            sort=by_county.sort_values("red", ascending=False)["county_name"].tolist(),
            axis=alt.Axis(labelOverlap=False, labelFontSize=13),
        ),
        x=alt.X("count:Q", title="在办案件（件）", stack=True),
        color=alt.Color(
            "color_label:N",
            title="颜色",
            scale=alt.Scale(
                domain=[COLORS[c] for c in COLOR_ORDER],
                range=["rgb({},{},{})".format(*COLOR_RGB[c]) for c in COLOR_ORDER],
            ),
            legend=alt.Legend(orient="top"),
        ),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("county_name:N", title="县区"), alt.Tooltip("color_label:N", title="颜色"),
                 alt.Tooltip("count:Q", title="件数")],
    )
    .properties(height=alt.Step(34))
)
st.altair_chart(chart, width="stretch")

st.subheader("在办案件清单")
left, middle, right = st.columns([2, 2, 3])
colors = left.multiselect("颜色", list(COLOR_ORDER), default=["red", "yellow"], format_func=COLORS.get,
                          key="supervision_colors", placeholder="全部颜色")
stages = middle.multiselect("环节", [*STAGES, "clearance"], format_func=lambda s: STAGES.get(s, "积案化解"),
                            key="supervision_stages", placeholder="全部环节")
unit = right.text_input("责任单位（包含）", key="supervision_unit", placeholder="例如：自然资源")
shown = cases
if colors:
    shown = shown[shown["color"].isin(colors)]
if stages:
    shown = shown[shown["stage"].isin(stages)]
if unit.strip():
    shown = shown[shown["unit_name"].fillna("").str.contains(unit.strip(), regex=False)]
st.caption(f"共 {len(shown):,} 件（按紧急程度排序：红、黄、绿，剩余天数少者在前）")
widgets.case_table(shown, key="supervision_cases", height=460)
if not shown.empty:
    widgets.download_buttons(widgets.localize_cases(shown), "三色督办清单",
                             "三色督办清单 · " + widgets.describe_filters(scope, filters), key="supervision_download")
