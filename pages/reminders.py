"""催办 reminders: today's "115" reminders and overdue escalations by level and unit."""

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.labels import DOMAINS, REMINDER_LEVELS, STAGE_DEADLINES, days_left_text
from dashboard.permissions import allowed
from dashboard.reminders import LEVELS
from dashboard.workdays import load_calendar
from pages import ensure_navigation, session, widgets
from queries.reminders import reminder_queue

ensure_navigation()
actor = session.require("view")

scope = widgets.current_scope()
filters = widgets.current_filters()
today = config.today()

st.title("催办")
st.caption(
    f"{today:%Y年%m月%d日} · {widgets.describe_filters(scope, filters).split(' · ', 1)[-1]} · "
    "按“115”规则：办理中的案件在办理期限前 15 日由经办人员催办，前 10 日由分管领导催办，前 5 日发函催办主要负责人，"
    "提醒日遇节假日或周末提前到此前最后一个工作日；已过当前期限的在办案件（受理超期、办理超期、积案超过化解目标日期）"
    "每个工作日督办一次。休息日不发催办。"
)

with widgets.engine().connect() as conn:
    calendar = load_calendar(conn)
    if not calendar.is_workday(today):
        st.info(f"今天是休息日（节假日或周末），不发催办、不登记。下一个工作日为 {calendar.next_workday(today):%Y年%m月%d日}，"
                "届时列出当天应发的提醒和超期督办。")
        st.stop()
    queue = reminder_queue(conn, scope, filters, today)

counts = queue["level"].value_counts()
columns = st.columns(len(LEVELS))
for column, level in zip(columns, LEVELS, strict=True):
    widgets.kpi_tile(column, REMINDER_LEVELS[level], f"{int(counts.get(level, 0)):,} 件")

if queue.empty:
    st.success("今天没有需要催办的案件。")
    st.stop()

pending = int((~queue["recorded"]).sum())
if pending and not allowed(actor, "remind"):
    st.info(f"其中 {pending} 件今天尚未登记催办（由乡镇、督查室或信访局登记）。")
elif pending:
    st.info(f"其中 {pending} 件今天尚未登记催办。发出催办后请点击登记，系统留存记录，同一天不会重复登记。")
    if st.button(f"登记今日催办（{pending} 件）", type="primary", key="record_reminders"):
        with widgets.engine().connect() as conn:
            fresh = reminder_queue(conn, scope, filters, today)
        try:
            new = widgets.run_action(actions.record_reminders, fresh, today, today)
        except actions.ActionError as error:
            st.error(widgets.plain(error))
        else:
            st.session_state["reminders_recorded"] = new
            st.rerun()
else:
    st.success("今天的催办已全部登记。")
if "reminders_recorded" in st.session_state:
    st.toast(f"已登记 {st.session_state.pop('reminders_recorded')} 件催办。")

st.subheader("按单位汇总")
by_unit = (
    queue.assign(level=queue["level"].map(REMINDER_LEVELS))
    .pivot_table(index="unit_name", columns="level", values="case_no", aggfunc="count", fill_value=0)
    .reindex(columns=[REMINDER_LEVELS[level] for level in LEVELS], fill_value=0)
)
by_unit["合计"] = by_unit.sum(axis=1)
by_unit = by_unit.sort_values("合计", ascending=False).rename_axis("责任单位").reset_index()
st.dataframe(by_unit, hide_index=True, key="reminders_by_unit")
widgets.download_buttons(by_unit, f"催办按单位汇总_{today:%Y%m%d}", f"催办按单位汇总 · {today:%Y-%m-%d} · "
                         + widgets.describe_filters(scope, filters), key="reminders_by_unit_download")

st.subheader("催办清单")
level = st.segmented_control(
    "级别", LEVELS, format_func=REMINDER_LEVELS.get, key="reminder_level", selection_mode="multi",
    default=list(LEVELS),
)
shown = queue[queue["level"].isin(level or LEVELS)]
table = pd.DataFrame({
    "催办级别": shown["level"].map(REMINDER_LEVELS),
    "剩余/超期": shown["days_left"].map(lambda d: days_left_text(int(d))),
    "包案领导": shown["leader_name"].fillna("—"),
    "信访件编号": shown["case_no"],
    "责任单位": shown["unit_name"],
    "县区": shown["county_name"],
    "乡镇（街道）": shown["township_name"],
    "问题类别": shown["domain"].map(DOMAINS),
    "期限类型": shown["stage"].map(STAGE_DEADLINES),
    "期限": shown["due"],
    "期限说明": shown["provisional"].map(lambda p: widgets.PROVISIONAL_NOTE if p else "—"),
    "今日已登记": shown["recorded"].map({True: "是", False: "否"}),
})
event = st.dataframe(table, hide_index=True, key="reminder_table", height=420, on_select="rerun",
                     selection_mode="single-row")
st.caption("勾选行首方框可打开该案件详情。")
widgets.download_buttons(table, f"催办清单_{today:%Y%m%d}", f"催办清单 · {today:%Y-%m-%d} · "
                         + widgets.describe_filters(scope, filters), key="reminder_download")
if event.selection.rows:
    widgets.open_case(str(shown.iloc[event.selection.rows[0]]["case_no"]))
