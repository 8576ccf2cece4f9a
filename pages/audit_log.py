"""审计日志 audit trail (管理员): who saw, revealed, exported or changed what, when.
Records cannot be changed here; the chain check shows whether any was."""

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import audit
from dashboard.permissions import ROLES
from pages import ensure_navigation, session, widgets

ensure_navigation()
actor = session.require("audit")

MAX_SHOWN = 2_000
today = dt.date.today()

st.title("审计日志")
st.caption("登录、查看案件、查看个人信息、下载导出、导入、抽查、会议记录、规则与节假日修改、用户变更，均逐条留痕；"
           "记录只增不改，并以摘要链串联，任何改动或中间删除都会在核验时发现。")

left, middle, right, last = st.columns([2, 2, 3, 2])
period = left.date_input("日期", value=(today - dt.timedelta(days=30), today), format="YYYY-MM-DD", key="audit_period")
start, end = (period[0], period[-1]) if isinstance(period, (tuple, list)) and period else (today, today)
user = middle.text_input("用户名", key="audit_user").strip() or None
chosen = right.multiselect("操作", list(audit.ACTIONS), format_func=audit.ACTIONS.get, key="audit_actions",
                           placeholder="全部操作")
outcome = last.selectbox("结果", [None, *audit.OUTCOMES], format_func=lambda o: "全部" if o is None else audit.OUTCOMES[o],
                         key="audit_outcome")

with widgets.engine().connect() as conn:
    frame = audit.listing(conn, date_from=start, date_to=end, user=user, actions=tuple(chosen), outcome=outcome)
table = pd.DataFrame({
    "时间": frame["at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}"),
    "用户": frame["user"].fillna("—"),
    "角色": frame["role"].map(lambda r: ROLES.get(r, "服务器控制台" if r == "console" else "—")),
    "操作": frame["action"].map(lambda a: audit.ACTIONS.get(a, a)),
    "对象": frame["target"].fillna(""),
    "范围": frame["scope"].fillna(""),
    "结果": frame["outcome"].map(lambda o: audit.OUTCOMES.get(o, o)),
    "说明": frame["detail"].fillna(""),
    "途径": frame["channel"].map({"web": "网页", "cli": "命令行"}),
})
counts = st.columns(3)
widgets.kpi_tile(counts[0], "记录", f"{len(table):,} 条")
widgets.kpi_tile(counts[1], "拒绝", f"{int((frame['outcome'] == 'denied').sum()):,} 条")
widgets.kpi_tile(counts[2], "查看个人信息", f"{int((frame['action'] == 'reveal').sum()):,} 次")
st.dataframe(table.head(MAX_SHOWN), hide_index=True, key="audit_table")
if len(table) > MAX_SHOWN:
    st.caption(f"共 {len(table):,} 条，表中列出最新 {MAX_SHOWN:,} 条；完整记录请下载。")
widgets.download_buttons(table, f"审计日志_{start:%Y%m%d}-{end:%Y%m%d}",
                         f"审计日志 · {start:%Y-%m-%d} 至 {end:%Y-%m-%d}", key="audit_download",
                         permission="audit")

if st.button("核验审计链", key="verify_audit"):
    with widgets.engine().connect() as conn:
        check = audit.verify(conn)
    audit.record(widgets.engine(), actor, "read", target="verify-audit", detail="通过" if check.ok else "未通过")
    (st.success if check.ok else st.error)(check.detail)
