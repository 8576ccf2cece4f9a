"""领导包案 leader case-taking board: each leader's backlog cases, resolution, overdue
cases and days since the last recorded step; select a leader to list the cases. The
level and region filters are kept in the address (?leader_levels=…&leader_regions=…)."""

import pandas as pd
import streamlit as st

from dashboard.labels import LEADER_LEVELS
from pages import ensure_navigation, session, widgets
from queries.accountability import leader_casework
from queries.leaders import leader_board, leader_cases

ensure_navigation()
actor = session.require("view")

scope = widgets.current_scope()
filters = widgets.current_filters()

st.title("领导包案")
st.caption(widgets.describe_filters(scope, filters) + " · 截至期末：包案积案件数、已化解、化解率（已化解积案 ÷ 包案积案）、"
           "超期（督办颜色为红色）积案、距最近一次办理记录天数")
board = widgets.run_query(leader_board, scope, filters)
left, right = st.columns(2)
levels = left.multiselect("领导层级", list(LEADER_LEVELS), format_func=LEADER_LEVELS.get, key="leader_levels",
                          placeholder="全部层级", bind="query-params")
regions = sorted(board["region_name"].dropna().unique().tolist())
chosen = right.multiselect("所属区划", regions, key="leader_regions", placeholder="全部区划", bind="query-params")
shown = board
if levels:
    shown = shown[shown["level"].isin(levels)]
if chosen:
    shown = shown[shown["region_name"].isin(chosen)]

cols = st.columns(4)
total = int(shown["cases"].sum())
widgets.kpi_tile(cols[0], "包案领导（人）", f"{int((shown['cases'] > 0).sum()):,}", help="包有积案的领导")
widgets.kpi_tile(cols[1], "包案积案（件）", f"{total:,}")
widgets.kpi_tile(cols[2], "化解率", widgets.percent(shown["resolved"].sum() / total if total else None),
                 f"已化解 {int(shown['resolved'].sum()):,} 件", change=False)
widgets.kpi_tile(cols[3], "有超期积案的领导（人）", f"{int((shown['overdue'] > 0).sum()):,}")

# 四定四包 completeness and 2453 completion per leader (the accountability loop).
casework = widgets.run_query(leader_casework, scope, filters)
shown = shown.merge(casework.drop(columns="cases"), on="leader_id", how="left")
incomplete = int((shown["cases"] - shown["plans_complete"].fillna(0)).clip(lower=0).sum())
steps_done = int(shown["steps_done"].fillna(0).sum())
st.caption(f"四定四包不全的包案积案 {incomplete:,} 件（缺定措施 {int(shown['missing_measures'].fillna(0).sum()):,}、"
           f"缺定时间 {int(shown['missing_time'].fillna(0).sum()):,}、缺定责任 "
           f"{int(shown['missing_responsibility'].fillna(0).sum()):,}）；2453 步骤完成率 "
           f"{widgets.percent(steps_done / (total * 14) if total else None)}（表格右侧各列，可左右滚动）")
table = pd.DataFrame({
    "包案领导": shown["name"], "职务": shown["title"], "层级": shown["level"].map(LEADER_LEVELS),
    "所属区划": shown["region_name"], "包案积案": shown["cases"], "已化解": shown["resolved"],
    "化解率": shown["resolution_rate"] * 100, "超期积案": shown["overdue"],
    "其他包案件": shown["other_cases"], "距最近办理（天）": shown["days_since_action"],
    "四定齐全（件）": shown["plans_complete"].fillna(0).astype("int64"),
    "缺定措施": shown["missing_measures"].fillna(0).astype("int64"),
    "缺定时间": shown["missing_time"].fillna(0).astype("int64"),
    "缺定责任": shown["missing_responsibility"].fillna(0).astype("int64"),
    "2453 完成率": shown["steps_completion"] * 100,
})
event = st.dataframe(
    table, hide_index=True, key="leader_table", on_select="rerun", selection_mode="single-row", height=480,
    column_config={"化解率": st.column_config.NumberColumn(format="%.1f%%"),
                   "超期积案": st.column_config.NumberColumn(help="未化解积案中督办颜色为红色的件数"),
                   "其他包案件": st.column_config.NumberColumn(help="领导包案的非积案案件（如集体访、越级访）"),
                   "距最近办理（天）": st.column_config.NumberColumn(help="距其包案积案最近一次办理记录的天数"),
                   "四定齐全（件）": st.column_config.NumberColumn(help="定措施、定时间、定责任都已登记的包案积案"),
                   "2453 完成率": st.column_config.NumberColumn(
                       format="%.1f%%", help="已完成的 2453 步骤 ÷（包案积案 × 14）")},
)
widgets.download_buttons(table, "领导包案", "领导包案 · " + widgets.describe_filters(scope, filters),
                         key="leader_download")
st.caption("勾选一位领导，查看其包案案件；在案件清单中勾选一行打开案件。")
if event.selection.rows:
    leader = shown.iloc[event.selection.rows[0]]
    cases = widgets.run_query(leader_cases, scope, filters, int(leader["leader_id"]))
    st.subheader(widgets.plain(f"{leader['name']}（{leader['title']}）") + "包案积案")
    widgets.case_table(cases[cases["is_backlog"]], key="leader_cases", download=f"{leader['name']}包案积案")
    others = cases[~cases["is_backlog"]]
    if not others.empty:
        st.subheader("其他包案件")
        widgets.case_table(others, key="leader_other_cases", download=f"{leader['name']}其他包案件")
    # One leader's page: every case taken, its four 定, 2453 steps, receptions, instructions.
    from pages import leader_view

    leader_view.show(scope, filters, leader)
