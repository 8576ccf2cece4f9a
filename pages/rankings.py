"""排名 rankings (赛马晾晒): counties and townships ranked on the §6 rates, with the
change against the same period one month earlier; export to Excel."""

import altair as alt
import pandas as pd
import streamlit as st

from pages import ensure_navigation, widgets
from queries.rankings import METRICS, previous_month, ranking

ensure_navigation()

LEVELS = {"county": "县区", "township": "乡镇（街道）"}

scope = widgets.current_scope()
filters = widgets.current_filters()

st.title("排名")
start, end = previous_month(filters).period
st.caption(widgets.describe_filters(scope, filters) + f" · 名次变化对比上月同期（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）")
left, right = st.columns([1, 3])
level = left.radio("排名对象", list(LEVELS), format_func=LEVELS.get, key="rank_level", horizontal=True)
metric = right.radio("指标", list(METRICS), format_func=lambda m: METRICS[m][0], key="rank_metric", horizontal=True)
name, higher = METRICS[metric]
frame = widgets.run_query(ranking, scope, filters, level, metric)
if level == "township":
    counties, _ = widgets.region_frames(scope)
    frame["county"] = frame["parent_code"].map(counties.set_index("code")["name"])
is_rate = metric != "backlog_per_10k"


def shown_value(value) -> str:
    if pd.isna(value):
        return "—"
    return f"{value:.1%}" if is_rate else f"{value:.2f}"


def shown_change(change) -> str:
    if pd.isna(change):
        return "—"
    return "持平" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")


table = pd.DataFrame({
    "名次": frame["rank"].astype("string").fillna("—"),
    LEVELS[level]: frame["name"],
    **({"县区": frame["county"]} if level == "township" else {}),
    name: frame["value"].map(shown_value),
    "上月同期名次": frame["previous_rank"].astype("string").fillna("—"),
    "名次变化": frame["change"].map(shown_change),
})
st.caption(("数值越高越好" if higher else "数值越低越好") + "；没有数据的区域（分母为 0）排在最后。")
left, right = st.columns([3, 2])
with left:
    st.dataframe(table, hide_index=True, key="ranking_table", height=min(38 * (len(table) + 1), 640))
    widgets.download_buttons(table, f"排名_{LEVELS[level]}_{name}", f"{LEVELS[level]}{name}排名 · "
                             + widgets.describe_filters(scope, filters), key="ranking_download")
with right:
    chart_data = frame.dropna(subset=["value"]).head(30)
    st.altair_chart(
        alt.Chart(chart_data).mark_bar(color="#c0392b" if not higher else "#2c7fb8").encode(
            y=alt.Y("name:N", title=None, sort=chart_data["name"].tolist()),
            x=alt.X("value:Q", title=name, axis=alt.Axis(format=".0%" if is_rate else ".2f")),
            tooltip=[alt.Tooltip("name:N", title=LEVELS[level]),
                     alt.Tooltip("value:Q", title=name, format=".1%" if is_rate else ".2f"),
                     alt.Tooltip("rank:Q", title="名次")],
        ).properties(height=alt.Step(18)),
        width="stretch",
    )
