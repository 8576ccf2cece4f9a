"""领导接访 leader reception days and the 五个必批 queue: 接访完成率 and 人次 per level,
the reception list (with the cases taken into 包案), each leader's queue of matters to
instruct on (阅批率, days to instruction). The bureau and the supervision office
record reception days and instructions here; everyone with the page may download."""

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.accountability import (
    INSTRUCTION_CATEGORIES,
    RECEPTION_FORM_NOTES,
    RECEPTION_FORMS,
    RECEPTION_LEVELS,
)
from dashboard.permissions import allowed
from pages import ensure_navigation, notices, session, widgets
from queries.receptions import (
    instruction_list,
    instruction_queue,
    reception_indicators,
    reception_list,
    reception_summary,
)

ensure_navigation()
actor = session.require("view")

scope = widgets.current_scope()
filters = widgets.current_filters()
today = config.today()
caption = widgets.describe_filters(scope, filters)

st.title("领导接访")
notices.show()
st.caption(caption + " · 接访完成率 = 期内已举行的接访 ÷ 期内安排的接访；人次为已举行接访接待的群众人次；"
           "阅批率 = 期内呈报的五个必批事项中已批示的 ÷ 期内呈报的")

figures = widgets.run_query(reception_indicators, scope, filters)
cols = st.columns(4)
widgets.kpi_tile(cols[0], "接访完成率", widgets.percent(figures["reception_completion_rate"]),
                 f"已接访 {figures['receptions_held']} / 安排 {figures['receptions_scheduled']} 次", delta_color="off")
widgets.kpi_tile(cols[1], "接待群众（人次）", f"{figures['reception_persons']:,}")
widgets.kpi_tile(cols[2], "五个必批阅批率", widgets.percent(figures["instruction_rate"]),
                 f"已批示 {figures['instructions_done']} / 呈报 {figures['instructions_received']} 件", delta_color="off")
days = figures["instruction_days_mean"]
widgets.kpi_tile(cols[3], "平均批示用时（天）", "—" if days is None else f"{days:.1f}",
                 help="已批示事项从呈报到批示的平均天数")

summary = widgets.run_query(reception_summary, scope, filters)
st.subheader("分层级接访情况")
level_table = pd.DataFrame({
    "层级": summary["level"].map(RECEPTION_LEVELS), "安排（次）": summary["scheduled"], "已接访（次）": summary["held"],
    "接访完成率": summary["completion_rate"] * 100, "接待人次": summary["persons"],
})
st.dataframe(level_table, hide_index=True, column_config={"接访完成率": st.column_config.NumberColumn(format="%.1f%%")})

receptions = widgets.run_query(reception_list, scope, filters)
st.subheader("接访记录")
table = pd.DataFrame({
    "编号": receptions["id"], "日期": receptions["held_on"], "接访领导": receptions["leader_name"],
    "职务": receptions["leader_title"], "地点": receptions["place"], "所在区划": receptions["region_name"],
    "层级": receptions["level"].map(RECEPTION_LEVELS),
    "形式": receptions["form"].map(lambda f: f"{RECEPTION_FORMS.get(f, f)}（{RECEPTION_FORM_NOTES.get(f, '')}）"),
    "状态": receptions["held"].map(lambda held: "已接访" if held else "已安排"), "接待人次": receptions["persons"],
    "纳入包案": receptions["cases_taken"],
})
if table.empty:
    st.info("期内没有接访记录。")
else:
    st.dataframe(notices.blank(table), hide_index=True, height=360)
    widgets.download_buttons(table, "领导接访", "领导接访 · " + caption, key="receptions_download")

st.subheader("五个必批")
st.caption("市委、市政府主要领导必批：" + "、".join(INSTRUCTION_CATEGORIES.values()))
queue = widgets.run_query(instruction_queue, scope, filters)
queue_table = pd.DataFrame({
    "领导": queue["leader_name"], "职务": queue["leader_title"], "呈报（件）": queue["received"],
    "已批示": queue["done"], "待批示": queue["waiting"], "阅批率": queue["rate"] * 100,
    "平均用时（天）": queue["days_mean"],
})
st.dataframe(queue_table, hide_index=True, column_config={
    "阅批率": st.column_config.NumberColumn(format="%.1f%%"),
    "平均用时（天）": st.column_config.NumberColumn(format="%.1f")})
matters = widgets.run_query(instruction_list, scope, filters)
matter_table = pd.DataFrame({
    "编号": matters["id"], "领导": matters["leader_name"], "类别": matters["category"].map(INSTRUCTION_CATEGORIES),
    "呈批事项": matters["item"], "呈报日期": matters["received_on"], "批示日期": matters["instructed_on"],
    "批示内容": matters["instruction"], "用时（天）": matters["days"],
    "状态": matters["done"].map(lambda done: "已批示" if done else "待批示"),
})
if not matter_table.empty:
    st.dataframe(notices.blank(matter_table, keep=("用时（天）",)), hide_index=True, height=300,
                 column_config={"用时（天）": st.column_config.NumberColumn(help="已批示：呈报到批示；待批示：至期末已等待")})
    widgets.download_buttons(matter_table, "五个必批", "五个必批 · " + caption, key="instructions_download")

if allowed(actor, "reception"):
    st.divider()
    left, right = st.columns(2)
    with left.form("reception_form", clear_on_submit=True):
        st.markdown("**登记接访**")
        leader = st.text_input("接访领导（姓名或编号）", key="reception_leader")
        region = st.text_input("接访地区划代码", value=scope.region_code, key="reception_region")
        day = st.date_input("接访日期", value=today, key="reception_day")
        place = st.text_input("地点", key="reception_place")
        level = st.selectbox("层级", list(RECEPTION_LEVELS), format_func=RECEPTION_LEVELS.get, index=1,
                             key="reception_level")
        form = st.selectbox("形式", list(RECEPTION_FORMS),
                            format_func=lambda f: f"{RECEPTION_FORMS[f]}（{RECEPTION_FORM_NOTES[f]}）",
                            key="reception_kind")
        held = st.checkbox("已举行（未勾选为已安排）", value=True, key="reception_held")
        persons = st.number_input("接待人次", min_value=0, step=1, key="reception_persons")
        taken = st.text_input("纳入包案的信访件编号（逗号分隔）", key="reception_cases")
        if st.form_submit_button("登记接访"):
            try:
                new_id = widgets.run_action(
                    actions.add_reception, leader=leader, region_code=region.strip(), held_on=day, place=place,
                    level=level, form=form, held=held, persons=int(persons),
                    case_nos=tuple(n.strip() for n in taken.replace("，", ",").split(",") if n.strip()))
                notices.done(f"已登记接访 #{new_id}。")
            except actions.ActionError as error:
                st.error(widgets.plain(error))
    with right.form("instruction_form", clear_on_submit=True):
        st.markdown("**登记呈批事项（五个必批）**")
        leader = st.text_input("批示领导（姓名或编号）", key="instruction_leader")
        category = st.selectbox("类别", list(INSTRUCTION_CATEGORIES), format_func=INSTRUCTION_CATEGORIES.get,
                                key="instruction_category")
        item = st.text_input("呈批事项（不写信访人个人信息）", key="instruction_item")
        received = st.date_input("呈报日期", value=today, key="instruction_received")
        if st.form_submit_button("登记呈批事项"):
            try:
                new_id = widgets.run_action(actions.add_instruction, leader=leader, category=category, item=item,
                                            received_on=received)
                notices.done(f"已登记呈批事项 #{new_id}。")
            except actions.ActionError as error:
                st.error(widgets.plain(error))
    waiting = matters[~matters["done"]] if not matters.empty else matters
    if not waiting.empty:
        with st.form("instructed_form", clear_on_submit=True):
            st.markdown("**登记批示**")
            chosen = st.selectbox("待批示事项", waiting["id"].tolist(), key="instructed_id",
                                  format_func=lambda i: f"#{i} {waiting.set_index('id').loc[i, 'leader_name']}："
                                  f"{waiting.set_index('id').loc[i, 'item']}")
            on = st.date_input("批示日期", value=today, key="instructed_on", max_value=today)
            text = st.text_area("批示内容", key="instructed_text")
            if st.form_submit_button("登记批示"):
                try:
                    widgets.run_action(actions.record_instruction, int(chosen), instructed_on=on, instruction=text)
                    notices.done(f"已登记呈批事项 #{chosen} 的批示。")
                except actions.ActionError as error:
                    st.error(widgets.plain(error))

from pages import record_upload  # noqa: E402

record_upload.show(("reception", "instruction"), key="receptions_import")
