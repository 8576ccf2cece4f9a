"""纪委移送 纪委+信访 referral list, from proposal to 对账销号: candidates proposed from
red cases, long backlog and cases rated unsatisfactory at a supervision meeting (a
person decides), the referrals with the commission's findings, 溯源调查, 问责/约谈,
回访 and the backlog clearance list (已销号 / 再次督办). Every list downloadable."""

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.accountability import (
    ACCOUNTABILITY_FORMS,
    CLEARANCE_KINDS,
    FINDINGS,
    RATINGS,
    RECEPTION_LEVELS,
    REFERRAL_KINDS,
    REVISIT_WAYS,
)
from dashboard.permissions import allowed
from pages import ensure_navigation, notices, session, widgets
from queries.accountability import (
    accountability_by_region,
    accountability_indicators,
    accountability_list,
    clearance_states,
    referral_candidates,
    referral_list,
    revisit_list,
    trace_list,
)

ensure_navigation()
actor = session.require("view")

scope = widgets.current_scope()
filters = widgets.current_filters()
today = config.today()
caption = widgets.describe_filters(scope, filters)
STATES = {"open": "办理中", "fed_back": "已反馈，待对账销号", "closed": "已对账销号"}

st.title("纪委移送")
notices.show()
st.caption(caption + " · 纪委+信访：典型案例和一般事项经分管领导批准移送纪委监委，反馈后回访核查、对账销号")

figures = widgets.run_query(accountability_indicators, scope, filters)
cols = st.columns(6)
widgets.kpi_tile(cols[0], "典型案例（件）", f"{figures['referrals']['typical']}")
widgets.kpi_tile(cols[1], "一般事项（件）", f"{figures['referrals']['general']}")
widgets.kpi_tile(cols[2], "已对账销号（件）", f"{figures['referrals']['closed']}")
widgets.kpi_tile(cols[3], "溯源调查（件）", f"{figures['traced']}")
widgets.kpi_tile(cols[4], "问责（人）", f"{figures['accountability_persons']}",
                 f"约谈 {figures['interviewed_persons']} 人", delta_color="off")
widgets.kpi_tile(cols[5], "回访率", widgets.percent(figures["revisit_rate"]),
                 help="期内办结的案件中已回访的比例（满意率见“回访”）")

tabs = st.tabs(["移送候选", "移送清单", "溯源与问责", "回访", "积案销号", "各地区"])

with tabs[0]:
    st.caption("系统按三条线索提出候选：超期（红色）、长期积案（超过一年未化解）、督查会评价不满意。"
               "是否移送由督查室或信访局决定并登记；已移送且未对账销号的不再列出。")
    candidates = widgets.run_query(referral_candidates, scope, filters)
    shown = pd.DataFrame({
        "信访件编号": candidates.get("case_no"), "县区": candidates.get("county_name"),
        "乡镇（街道）": candidates.get("township_name"), "责任单位": candidates.get("unit_name"),
        "包案领导": candidates.get("leader_name"), "督办颜色": candidates.get("color"),
        "提出理由": candidates.get("reasons"),
    })
    if shown.empty:
        st.info("没有符合条件的候选案件。")
    else:
        shown["督办颜色"] = shown["督办颜色"].map(lambda c: {"red": "红色", "yellow": "黄色", "green": "绿色"}.get(c, ""))
        st.dataframe(shown, hide_index=True, height=320)
        widgets.download_buttons(shown, "移送候选", "移送候选 · " + caption, key="candidates_download")
    if allowed(actor, "referral") and not shown.empty:
        with st.form("referral_form", clear_on_submit=False):
            st.markdown("**登记移送**")
            case_no = st.selectbox("信访件", shown["信访件编号"].tolist(), key="referral_case")
            kind = st.radio("类型", list(REFERRAL_KINDS), format_func=REFERRAL_KINDS.get, horizontal=True,
                            key="referral_kind")
            approver = st.text_input("批准移送的分管领导（姓名或编号）", key="referral_approver")
            body = st.text_input("接收的纪检监察机关", placeholder="例如：某县纪委监委、市纪委监委派驻纪检监察组",
                                 key="referral_body")
            on = st.date_input("移送日期", value=today, max_value=today, key="referral_on")
            if st.form_submit_button("确认移送"):
                try:
                    new_id = widgets.run_action(actions.add_referral, case_no, kind=kind, referred_on=on,
                                                approved_by=approver, receiving_body=body)
                    notices.done(f"已移送 {case_no}，移送记录 #{new_id}。")
                except actions.ActionError as error:
                    st.error(widgets.plain(error))

with tabs[1]:
    referrals = widgets.run_query(referral_list, scope, filters)
    table = pd.DataFrame({
        "编号": referrals["id"], "信访件编号": referrals["case_no"], "县区": referrals["county_name"],
        "类型": referrals["kind"].map(REFERRAL_KINDS), "季度": referrals["quarter"], "移送日期": referrals["referred_on"],
        "批准领导": referrals["approved_by"], "接收机关": referrals["receiving_body"],
        "查处认定": referrals["finding"].map(FINDINGS), "处理结果": referrals["outcome"],
        "反馈日期": referrals["feedback_on"], "对账销号": referrals["closed_on"], "状态": referrals["state"].map(STATES),
    })
    if table.empty:
        st.info("期内没有移送记录。")
    else:
        st.dataframe(notices.blank(table), hide_index=True, height=360)
        widgets.download_buttons(table, "纪委移送清单", "纪委移送清单 · " + caption, key="referrals_download")
    pending = referrals[referrals["state"] != "closed"] if not referrals.empty else referrals
    if allowed(actor, "referral") and not pending.empty:
        with st.form("referral_update_form", clear_on_submit=True):
            st.markdown("**登记反馈 / 对账销号**")
            chosen = st.selectbox("移送记录", pending["id"].tolist(), key="update_id",
                                  format_func=lambda i: f"#{i} {pending.set_index('id').loc[i, 'case_no']}")
            finding = st.selectbox("查处认定", [None, *FINDINGS], key="update_finding",
                                   format_func=lambda f: "（不变）" if f is None else FINDINGS[f])
            outcome = st.text_input("处理结果", key="update_outcome")
            feedback = st.date_input("反馈日期", value=None, max_value=today, key="update_feedback")
            close = st.date_input("对账销号日期（回访、办结核查后）", value=None, max_value=today, key="update_close")
            if st.form_submit_button("保存"):
                try:
                    widgets.run_action(actions.update_referral, int(chosen), finding=finding, outcome=outcome or None,
                                       feedback_on=feedback, closed_on=close)
                    notices.done(f"已更新移送记录 #{chosen}。")
                except actions.ActionError as error:
                    st.error(widgets.plain(error))

with tabs[2]:
    traces = widgets.run_query(trace_list, scope, filters)
    st.markdown("**信访责任溯源**")
    trace_table = pd.DataFrame({"信访件编号": traces["case_no"], "县区": traces["county_name"],
                                "溯源日期": traces["traced_on"], "成因": traces["cause"], "责任单位": traces["unit_name"]})
    if trace_table.empty:
        st.info("期内没有溯源调查记录。")
    else:
        st.dataframe(notices.blank(trace_table), hide_index=True)
        widgets.download_buttons(trace_table, "溯源调查", "溯源调查 · " + caption, key="traces_download")
    st.markdown("**问责与约谈**（公职人员，按职务记录）")
    records = widgets.run_query(accountability_list, scope, filters)
    record_table = pd.DataFrame({
        "日期": records["decided_on"], "姓名": records["official_name"], "职务": records["post"],
        "单位": records["unit_name"], "层级": records["level"].map(RECEPTION_LEVELS),
        "形式": records["form"].map(ACCOUNTABILITY_FORMS), "区划": records["region_name"], "事由": records["reason"],
        "关联信访件": records["case_no"]})
    if record_table.empty:
        st.info("期内没有问责、约谈记录。")
    else:
        st.dataframe(notices.blank(record_table), hide_index=True)
        widgets.download_buttons(record_table, "问责约谈", "问责约谈 · " + caption, key="accountability_download")

with tabs[3]:
    revisits = widgets.run_query(revisit_list, scope, filters)
    st.caption(f"回访率 {widgets.percent(figures['revisit_rate'])}（期内办结案件中已回访 {figures['revisited_cases']} 件）；"
               f"满意率：对信访部门 {widgets.percent(figures['satisfaction_rate_bureau'])}，对责任（主管）部门 "
               f"{widgets.percent(figures['satisfaction_rate_authority'])}")
    revisit_table = pd.DataFrame({
        "信访件编号": revisits["case_no"], "县区": revisits["county_name"], "回访日期": revisits["revisited_on"],
        "方式": revisits["way"].map(REVISIT_WAYS), "回访结果": revisits["result"],
        "对信访部门": revisits["satisfaction_bureau"].map(RATINGS),
        "对责任部门": revisits["satisfaction_authority"].map(RATINGS)})
    if revisit_table.empty:
        st.info("期内没有回访记录。")
    else:
        st.dataframe(notices.blank(revisit_table), hide_index=True)
        widgets.download_buttons(revisit_table, "回访", "回访 · " + caption, key="revisits_download")

with tabs[4]:
    states = widgets.run_query(clearance_states, scope, filters)
    st.caption(f"截至期末：已销号 {figures['backlog_cleared']} 件，再次督办 {figures['backlog_reopened']} 件。"
               "销号须已化解、已回访并经批准；销号后反弹的列为再次督办。")
    state_table = pd.DataFrame({
        "信访件编号": states["case_no"], "县区": states["region_name"], "包案领导": states["leader_name"],
        "状态": states["state"].map(CLEARANCE_KINDS), "日期": states["decided_on"], "批准人": states["approved_by"],
        "说明": states["note"]})
    if state_table.empty:
        st.info("没有销号记录。")
    else:
        st.dataframe(notices.blank(state_table), hide_index=True)
        widgets.download_buttons(state_table, "积案销号", "积案销号 · " + caption, key="clearances_download")

with tabs[5]:
    by_region = widgets.run_query(accountability_by_region, scope, filters)
    region_table = pd.DataFrame({"地区": by_region["name"], "溯源调查（件）": by_region["traced"],
                                 "问责（人）": by_region["accountability_persons"], "纪委移送（件）": by_region["referrals"],
                                 "回访（次）": by_region["revisits"]})
    st.dataframe(region_table, hide_index=True)
    widgets.download_buttons(region_table, "溯源问责分地区", "溯源问责分地区 · " + caption, key="regions_download")

from pages import record_upload  # noqa: E402

record_upload.show(("referral", "trace", "accountability", "revisit", "step", "plan"), key="referrals_import")
