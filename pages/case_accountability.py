"""The case page's accountability sections (领导包案与问责): 四定四包, the 2453 steps
(done and missing), 一事双交 with each unit's part, referrals to the discipline
commission, 溯源, 问责/约谈, 回访 and 销号. Drawn by pages/case.py; writes go through
`dashboard.actions` with the signed-in user's role and scope."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.accountability import (
    ACCOUNTABILITY_FORMS,
    CLEARANCE_KINDS,
    FINDINGS,
    RATINGS,
    REFERRAL_KINDS,
    REVISIT_WAYS,
    STEP_COUNT,
    STEPS,
)
from dashboard.labels import CASE_UNIT_ROLES
from dashboard.permissions import allowed
from pages import notices, widgets
from queries.accountability import case_dual_units, case_plan, case_records, case_steps_list


def _download(frame: pd.DataFrame, name: str, caption: str, key: str) -> None:
    widgets.download_buttons(frame, name, caption, key=key)


def show(case, actor, title: str) -> None:
    scope = widgets.current_scope()
    case_id, case_no = int(case["case_id"]), str(case["case_no"])
    today = config.today()
    with widgets.engine().connect() as conn:
        plan = case_plan(conn, scope, case_id)
        steps = case_steps_list(conn, scope, case_id)
        dual = case_dual_units(conn, scope, case_id)
        records = case_records(conn, scope, case_id)

    st.subheader("领导包案与问责")
    notices.show()
    if bool(case.get("is_backlog")) or not plan.empty:
        st.markdown("**四定四包**（定领导、定措施、定时间、定责任；包统筹、包协调、包疏导、包化解）")
        row = plan.iloc[0] if not plan.empty else None

        def value(column):
            if row is None or pd.isna(row[column]) or row[column] in ("", None):
                return "（缺）"
            return str(row[column])

        leader = "（缺）" if row is None or pd.isna(row["leader_name"]) else f"{row['leader_name']}（{row['leader_title']}）"
        responsibility = ("（缺）" if row is None or pd.isna(row["responsible_person"]) or pd.isna(row["responsible_unit"])
                          else f"{row['responsible_person']}，{row['responsible_unit']}")
        four = pd.DataFrame({"项目": ["定领导", "定措施", "定时间", "定责任"],
                             "内容": [leader, value("measures"), value("target_date"), responsibility]})
        st.dataframe(four, hide_index=True, key="case_plan")
        _download(four, f"{case_no}四定四包", title + " · 四定四包", "case_plan_download")
        done = int(steps["done"].sum()) if not steps.empty else 0
        st.markdown(f"**2453 步骤**（两见面、四听取、五确定、三督办）：已完成 {done} / {STEP_COUNT}")
        step_table = pd.DataFrame({"步骤": steps["step_name"], "完成": steps["done"].map(lambda d: "已完成" if d else "未完成"),
                                   "日期": steps["done_on"], "说明": steps["note"], "登记人": steps["recorded_by"]})
        st.dataframe(notices.blank(step_table), hide_index=True, key="case_steps", height=300)
        _download(step_table, f"{case_no}2453步骤", title + " · 2453 步骤", "case_steps_download")
        if allowed(actor, "casework"):
            with st.form("step_form", clear_on_submit=True):
                step = st.selectbox("登记步骤", list(STEPS), format_func=STEPS.get, key="step_code")
                on = st.date_input("完成日期", value=today, max_value=today, key="step_on")
                note = st.text_input("说明", key="step_note")
                if st.form_submit_button("登记 2453 步骤"):
                    try:
                        widgets.run_action(actions.record_case_step, case_no, step, done_on=on, note=note or None)
                        notices.done(f"已登记：{STEPS[step]}。")
                    except actions.ActionError as error:
                        st.error(widgets.plain(error))
    if not dual.empty and dual["part"].notna().any():
        st.markdown("**一事双交**（既交属地，又交市级主管部门）")
        dual_table = pd.DataFrame({"角色": dual["role"].map(CASE_UNIT_ROLES), "单位": dual["unit_name"],
                                   "承担的工作": dual["part"].fillna("（未登记分工）")})
        st.dataframe(dual_table, hide_index=True, key="case_dual")
        _download(dual_table, f"{case_no}一事双交", title + " · 一事双交", "case_dual_download")

    sections = [
        ("纪委移送", records["referrals"], lambda f: pd.DataFrame({
            "编号": f["id"], "类型": f["kind"].map(REFERRAL_KINDS), "季度": f["quarter"], "移送日期": f["referred_on"],
            "接收机关": f["receiving_body"], "查处认定": f["finding"].map(FINDINGS), "处理结果": f["outcome"],
            "反馈日期": f["feedback_on"], "对账销号": f["closed_on"]})),
        ("溯源调查", records["traces"], lambda f: pd.DataFrame({
            "溯源日期": f["traced_on"], "成因": f["cause"], "责任单位": f["unit_name"]})),
        ("问责与约谈", records["accountability"], lambda f: pd.DataFrame({
            "日期": f["decided_on"], "姓名": f["official_name"], "职务": f["post"], "单位": f["unit_name"],
            "形式": f["form"].map(ACCOUNTABILITY_FORMS)})),
        ("回访", records["revisits"], lambda f: pd.DataFrame({
            "回访日期": f["revisited_on"], "方式": f["way"].map(REVISIT_WAYS), "结果": f["result"],
            "对信访部门": f["satisfaction_bureau"].map(RATINGS), "对责任部门": f["satisfaction_authority"].map(RATINGS),
            "登记人": f["recorded_by"]})),
        ("销号", records["clearances"], lambda f: pd.DataFrame({
            "状态": f["kind"].map(CLEARANCE_KINDS), "日期": f["decided_on"], "批准人": f["approved_by"], "说明": f["note"]})),
    ]
    for name, frame, build in sections:
        if frame.empty:
            continue
        st.markdown(f"**{name}**")
        table = build(frame)
        st.dataframe(notices.blank(table), hide_index=True, key=f"case_{name}")
        _download(table, f"{case_no}{name}", f"{title} · {name}", f"case_{name}_download")
    if all(frame.empty for _, frame, _ in sections):
        st.caption("暂无纪委移送、溯源、问责、回访或销号记录。")

    if allowed(actor, "revisit") and case.get("closed_on") is not None and not pd.isna(case.get("closed_on")):
        with st.form("revisit_form", clear_on_submit=True):
            st.markdown("**登记回访**（办结后）")
            on = st.date_input("回访日期", value=today, max_value=today, key="revisit_on")
            way = st.selectbox("方式", list(REVISIT_WAYS), format_func=REVISIT_WAYS.get, key="revisit_way")
            result = st.text_input("回访结果", key="revisit_result")
            bureau = st.selectbox("对信访部门的满意度", [None, *RATINGS], key="revisit_bureau",
                                  format_func=lambda r: "未表态" if r is None else RATINGS[r])
            authority = st.selectbox("对责任（主管）部门的满意度", [None, *RATINGS], key="revisit_authority",
                                     format_func=lambda r: "未表态" if r is None else RATINGS[r])
            if st.form_submit_button("登记回访"):
                try:
                    widgets.run_action(actions.add_revisit, case_no, revisited_on=on, way=way, result=result or None,
                                       satisfaction_bureau=bureau, satisfaction_authority=authority)
                    notices.done("已登记回访。")
                except actions.ActionError as error:
                    st.error(widgets.plain(error))
