"""One leader's view on the leader board (领导包案): every backlog case they took with
its four 定 and its 2453 steps done and missing, their reception days and their
五个必批 instructions. Drawn by pages/leaders.py for the selected leader."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.accountability import (
    INSTRUCTION_CATEGORIES,
    RECEPTION_FORMS,
    RECEPTION_LEVELS,
    STEP_COUNT,
)
from pages import notices, widgets
from queries.accountability import leader_case_plans
from queries.receptions import leader_instructions, leader_receptions


def _or_missing(value) -> str:
    return "（缺）" if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


def show(scope, filters, leader) -> None:
    leader_id, name = int(leader["leader_id"]), str(leader["name"])
    caption = f"{name}（{leader['title']}） · " + widgets.describe_filters(scope, filters)
    st.subheader(widgets.plain(name) + "：四定四包与 2453")
    st.caption(f"定领导：{widgets.plain(name)}；未完成步骤中“2听取”即第 2 次听取。")
    plans = widgets.run_query(leader_case_plans, scope, filters, leader_id)
    if plans.empty:
        st.info("该领导在范围内没有包案积案。")
    else:
        table = pd.DataFrame({
            "信访件编号": plans["case_no"], "定措施": plans["measures"].map(_or_missing),
            "定时间": plans["target_date"].map(_or_missing),
            "定责任": [_or_missing(p) if pd.isna(u) else f"{_or_missing(p)}，{u}"
                    for p, u in zip(plans["responsible_person"], plans["responsible_unit"], strict=True)],
            "四定齐全": plans["plan_complete"].map(lambda c: "是" if c else "否"),
            "2453 已完成": plans["steps_done"].map(lambda n: f"{n} / {STEP_COUNT}"),
            "未完成步骤": plans["steps_missing"].map(lambda s: s or "—"),
        })
        event = st.dataframe(table, hide_index=True, key="leader_view_plans", on_select="rerun",
                             selection_mode="single-row",
                             column_config={"定措施": st.column_config.TextColumn(width="medium"),
                                            "未完成步骤": st.column_config.TextColumn(width="large")})
        widgets.download_buttons(table, f"{name}四定四包与2453", caption + " · 四定四包与 2453",
                                 key="leader_view_plans_download")
        st.caption("勾选一行打开该案件详情（含 2453 步骤明细）。")
        if event.selection.rows:
            widgets.open_case(str(plans.iloc[event.selection.rows[0]]["case_no"]))
    receptions = widgets.run_query(leader_receptions, scope, filters, leader_id)
    st.markdown(f"**接访**：{int(receptions['held'].sum()) if not receptions.empty else 0} / {len(receptions)} 次已举行，"
                f"接待 {int(receptions['persons'].sum()) if not receptions.empty else 0} 人次")
    if not receptions.empty:
        days = pd.DataFrame({"日期": receptions["held_on"], "地点": receptions["place"],
                             "层级": receptions["level"].map(RECEPTION_LEVELS),
                             "形式": receptions["form"].map(RECEPTION_FORMS),
                             "状态": receptions["held"].map(lambda h: "已接访" if h else "已安排"),
                             "接待人次": receptions["persons"], "纳入包案": receptions["cases_taken"]})
        st.dataframe(days, hide_index=True, key="leader_view_receptions")
        widgets.download_buttons(days, f"{name}接访", caption + " · 接访", key="leader_view_receptions_download")
    matters = widgets.run_query(leader_instructions, scope, filters, leader_id)
    done = int(matters["done"].sum()) if not matters.empty else 0
    st.markdown(f"**五个必批**：呈报 {len(matters)} 件，已批示 {done} 件")
    if not matters.empty:
        queue = pd.DataFrame({"类别": matters["category"].map(INSTRUCTION_CATEGORIES), "呈批事项": matters["item"],
                              "呈报日期": matters["received_on"], "批示日期": matters["instructed_on"],
                              "批示内容": matters["instruction"], "用时（天）": matters["days"]})
        st.dataframe(notices.blank(queue), hide_index=True, key="leader_view_instructions")
        widgets.download_buttons(queue, f"{name}五个必批", caption + " · 五个必批", key="leader_view_instructions_download")
