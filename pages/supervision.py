"""三色督办 supervision: color counts per county and the list of open cases."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.labels import COLOR_RGB, COLORS, days_left_text
from dashboard.meetings import RATINGS
from dashboard.rules import COLOR_ORDER
from pages import charts, ensure_navigation, session, widgets
from queries.cases import open_cases_page
from queries.meetings import follow_ups
from queries.supervision import colors_by_county

ensure_navigation()
actor = session.require("view")

scope = widgets.current_scope()
filters = widgets.current_filters()

st.title("三色督办")
st.caption(widgets.describe_filters(scope, filters) + f" · 期末（{filters.as_of:%Y-%m-%d}）在办案件，不论登记年份")
by_county = widgets.run_query(colors_by_county, scope, filters)
widgets.color_tiles({color: int(by_county[color].sum()) for color in COLOR_ORDER})
widgets.color_legend()

st.subheader("各县区督办颜色分布")


def county_colors_chart() -> alt.Chart:
    long = by_county.melt(["county_code", "county_name"], list(COLOR_ORDER), var_name="color", value_name="count")
    long["color_label"] = long["color"].map(COLORS)
    long["order"] = long["color"].map({c: i for i, c in enumerate(COLOR_ORDER)})
    return (
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
        .properties(height=alt.Step(24))
    )


# built once per process for the same counts, shared by every viewer
charts.show_cached(("county_colors", charts.fingerprint(by_county)), county_colors_chart, width="stretch")

st.subheader("在办案件清单")
# Only the rows on screen are fetched (with the total); the download fetches them all.
choice = widgets.open_case_choices(key="supervision", default_colors=("red", "yellow"))
first = widgets.run_query(open_cases_page, scope, filters, *choice, 0, widgets.MAX_SHOWN_ROWS)
total = int(first["total"].iloc[0]) if not first.empty else 0
st.caption(f"共 {total:,} 件（按紧急程度排序：红、黄、绿，剩余天数少者在前）")
widgets.case_table(first.drop(columns="total"), key="supervision_cases", height=460)
if total > len(first):
    st.caption(f"表中列出前 {len(first):,} 件；完整清单请下载。")


def every_row() -> pd.DataFrame:
    with widgets.engine().connect() as conn:
        return widgets.localize_cases(open_cases_page(conn, scope, filters, *choice, 0, None).drop(columns="total"))


if total:
    widgets.download_buttons_for(every_row, "三色督办清单", "三色督办清单 · " + widgets.describe_filters(scope, filters),
                                 key="supervision_download")

st.subheader("督查会跟进事项")
pending = widgets.run_query(follow_ups, scope, filters)
if pending.empty:
    st.caption("没有未完成的督查会跟进事项。")
else:
    st.caption("督查会上评价后要求限期跟进、案件尚未办结或化解的事项，按跟进时限排序。")
    follow_table = pd.DataFrame({
            "跟进时限": pending["follow_up_due"],
            "剩余/超期": pending["follow_up_days_left"].map(lambda d: "—" if pd.isna(d) else days_left_text(int(d))),
            "包案领导": pending["leader_name"].fillna("—"), "会上评价": pending["rating"].map(RATINGS),
            "信访件编号": pending["case_no"], "乡镇（街道）": pending["township_name"], "县区": pending["county_name"],
            "责任单位": pending["unit_name"].fillna("—"), "点评意见": pending["comment"].fillna("—"),
            "抽查记录": pending["draw_id"].map(lambda d: f"#{d}"),
        })
    picked = st.dataframe(follow_table, hide_index=True, key="follow_up_table", on_select="rerun",
                          selection_mode="single-row")
    st.caption("勾选行首方框可打开该案件详情。")
    widgets.download_buttons(follow_table, "督查会跟进事项", "督查会跟进事项 · " + widgets.describe_filters(scope, filters),
                             key="follow_up_download")
    if picked.selection.rows:
        widgets.open_case(str(pending.iloc[picked.selection.rows[0]]["case_no"]))
