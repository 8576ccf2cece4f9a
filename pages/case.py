"""案件详情 case detail: one case's fields (personal data masked), computed deadlines,
its chain of events, extensions and reminders. Reached from every case list, by a link
(?case=编号) or by searching a case number."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.attachments import EXTENSIONS, KINDS, AttachmentError
from dashboard.attachments import exists as attachment_exists
from dashboard.attachments import listing as attachment_listing
from dashboard.attachments import loader as attachment_loader
from dashboard.deadlines import load_presets
from dashboard.labels import (
    BACKLOG_SOURCES,
    CASE_UNIT_ROLES,
    CHANNELS,
    COLORS,
    DOMAINS,
    ESCALATION,
    EVENT_KINDS,
    REMINDER_LEVELS,
    SATISFACTION,
    STAGES,
    TRACKS,
    days_left_text,
    label,
)
from dashboard.meetings import RATINGS
from dashboard.permissions import Refused, allowed
from dashboard.privacy import mask_id_no, mask_name, mask_phone
from dashboard.timeline import (
    STATUS_DONE,
    STATUS_GOING,
    STATUS_GOING_LATE,
    STATUS_LATE,
    STATUS_ON_TIME,
    STATUS_UNRECORDED,
    describe_spent,
    stage_durations,
)
from dashboard.workdays import WORKING, load_calendar
from pages import charts, ensure_navigation, session, widgets
from queries.cases import case_detail, case_events_list, case_people
from queries.filters import Filters
from queries.meetings import follow_up_progress, outcomes
from queries.reminders import reminder_log
from queries.spot_check import draws_with_case

ensure_navigation()
actor = session.require("view")

scope = widgets.current_scope()
today = config.today()

st.title("案件详情")
linked = st.query_params.get("case", "")
if "case_search" not in st.session_state:
    st.session_state["case_search"] = linked
case_no = st.text_input("信访件编号", key="case_search", placeholder="例如 YX2026-21-001871").strip()
if not case_no:
    st.info("请输入信访件编号，或在任一案件清单中点击一行打开案件。")
    st.stop()
st.query_params["case"] = case_no

# Opening a case is checked against the user's scope and audited (once per session).
viewed = st.session_state.setdefault("viewed_cases", set())
if case_no not in viewed:
    try:
        actions.view_case(widgets.engine(), actor, case_no)
    except actions.ActionError:
        st.error("没有找到该编号的信访件，请核对编号（例如 YX2026-21-001871）。")
        st.stop()
    except Refused as error:
        st.error(widgets.plain(error))
        st.stop()
    viewed.add(case_no)

with widgets.engine().connect() as conn:
    detail = case_detail(conn, scope, case_no, today)
    if detail.empty:
        st.error("没有找到该编号的信访件，请核对编号。")
        st.stop()
    case = detail.iloc[0]
    events = case_events_list(conn, scope, int(case["case_id"]))
    people = case_people(conn, scope, int(case["case_id"]))
    reminders = reminder_log(conn, scope, Filters(), case_id=int(case["case_id"]))
    meeting_notes = outcomes(conn, scope, case_id=int(case["case_id"]))
    draws_of_case = draws_with_case(conn, scope, int(case["case_id"]))
    progress_reports = follow_up_progress(conn, scope, int(case["case_id"]))
    preset = load_presets(conn).get(case["preset"]) if isinstance(case["preset"], str) else None
    calendar = load_calendar(conn)


def shown(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return f"{value:%Y-%m-%d}" if hasattr(value, "strftime") else str(value)


color = case["color"] if isinstance(case["color"], str) else None
st.subheader(widgets.plain(f"{case['case_no']} · {case['county_name']}{case['township_name'] or ''}"))
if color:
    st.markdown(
        widgets.color_swatch(color, f"**{COLORS[color]}** · {label(STAGES, case['stage'])} · "
                             f"期限 {shown(case['deadline'])} · {days_left_text(case['days_left'])}"),
        unsafe_allow_html=True,
    )
else:
    st.markdown("已办结，不再督办。")
if case["deadline_provisional"]:
    st.warning(widgets.PROVISIONAL_NOTE)

title = f"信访件 {case['case_no']}"
describe = f"{title} · 个人信息已脱敏"
basic = pd.DataFrame(
    [
        ("登记日期", shown(case["registered_on"])),
        ("信访形式", label(CHANNELS, case["channel"])),
        ("问题类别", label(DOMAINS, case["domain"])),
        ("信访人", mask_name(people.get("petitioner_name"))),
        ("联系电话", mask_phone(people.get("petitioner_phone"))),
        ("身份证号", mask_id_no(people.get("petitioner_id_no"))),
        ("人数", f"{int(case['persons'])} 人" + ("（集体访）" if case["is_collective"] else "")),
        ("越级情况", label(ESCALATION, case["escalation"])),
        ("诉求摘要", shown(people.get("summary"))),
    ],
    columns=["项目", "内容"],
)
units = "；".join(f"{CASE_UNIT_ROLES.get(role, role)}：{name}" for role, name in people["units"])
handling = pd.DataFrame(
    [
        ("责任单位", shown(case["unit_name"])),
        ("交办单位（一事双交）", units or "—"),
        ("办理程序", label(TRACKS, case["track"])),
        ("适用时限规则", shown(case["preset_title"])),
        ("受理期限 / 受理日期", f"{shown(case['acceptance_due'])} / {shown(case['accepted_on'])}"),
        ("办理期限 / 办结日期", f"{shown(case['handling_due'])} / {shown(case['closed_on'])}"
         + (f"（含延期 {int(case['extension_days'])} 日）" if case["extension_days"] else "")),
        ("满意度", label(SATISFACTION, case["satisfaction"]) if isinstance(case["satisfaction"], str) else "未评价"),
        ("是否积案", ("是 · " + label(BACKLOG_SOURCES, case["backlog_source"]) + f" · 化解目标 {shown(case['clearance_target'])}")
         if case["is_backlog"] else "否"),
        ("化解情况", f"已化解（{shown(case['resolved_on'])}）" if shown(case["resolved_on"]) != "—" else "未化解"),
        ("包案领导", f"{case['leader_name']}（{case['leader_title']}）" if isinstance(case["leader_name"], str) else "—"),
    ],
    columns=["项目", "内容"],
)
left, right = st.columns(2)
with left:
    st.markdown("**基本情况**")
    st.table(basic.set_index("项目"))
    st.caption("个人信息默认脱敏显示。")
    if allowed(actor, "reveal"):
        with st.expander("查看完整个人信息（须写明理由，留痕）"):
            with st.form("reveal_form", clear_on_submit=True):
                reason = st.text_input("理由", key="reveal_reason", max_chars=200,
                                       placeholder="例如：需电话联系信访人告知办理结果")
                reveal_now = st.form_submit_button("显示完整信息", key="reveal_submit")
            if reveal_now:  # shown for this view only: the next interaction masks it again
                try:
                    full = widgets.run_action(actions.reveal, case_no, reason)
                except actions.ActionError as error:
                    st.error(widgets.plain(error))
                else:
                    st.table(pd.DataFrame([("信访人", full["petitioner_name"] or "—"),
                                           ("联系电话", full["petitioner_phone"] or "—"),
                                           ("身份证号", full["petitioner_id_no"] or "—")],
                                          columns=["项目", "内容"]).set_index("项目"))
                    st.caption("本次查看已记入审计日志；离开或刷新页面后恢复脱敏。")
with right:
    st.markdown("**办理与期限**")
    st.table(handling.set_index("项目"))
widgets.download_buttons(pd.concat([basic.assign(部分="基本情况"), handling.assign(部分="办理与期限")])[
    ["部分", "项目", "内容"]], f"{case['case_no']}案件信息", describe, key="case_info_download")

st.markdown("**各环节用时与时限**")
stages = stage_durations(case, events, preset, calendar, today)
if preset is not None:
    st.caption(f"时限按“{preset.title}”计（单位见“适用时限”）：起算日不计入；按自然日计的时限末日遇法定节假日、"
               "休息日顺延至下一工作日；按工作日计的只数工作日（含调休上班日）。")


def used_text(row) -> str:
    """Days used of the days allowed, in the unit the limit counts."""
    if pd.isna(row["used"]):
        return "—"
    return f"{int(row['used'])} / {int(row['allowed'])} " + ("个工作日" if row["unit"] == WORKING else "日")


stage_table = pd.DataFrame({
    "环节": stages["name"],
    "时间": [("—" if pd.isna(at) else (f"{at:%Y-%m-%d}" if dated else f"{at:%Y-%m-%d %H:%M}"))
           for at, dated in zip(stages["at"], stages["dated_only"], strict=True)],
    "距上一环节": [describe_spent(d, dated) for d, dated in zip(stages["spent_days"], stages["dated_only"], strict=True)],
    "适用时限": stages["limit"].replace("", "—"),
    "时限内用时": stages.apply(used_text, axis=1) if not stages.empty else [],
    "状态": stages["status"],
})
LATE = {STATUS_LATE, STATUS_GOING_LATE}


def highlight(row) -> list[str]:
    late = row["状态"] in LATE
    return ["background-color: rgba(214,39,40,0.18); font-weight: 600" if late else ""] * len(row)


st.dataframe(stage_table.style.apply(highlight, axis=1), hide_index=True, key="case_stages")
widgets.download_buttons(stage_table, f"{case['case_no']}各环节用时", title + " · 各环节用时与时限",
                         key="case_stages_download")
if not stages.empty:
    chart_data = stages.assign(
        start=pd.to_datetime(stages["start"]), end=pd.to_datetime(stages["end"]),
        due=pd.to_datetime(stages["due"]), spent=stage_table["距上一环节"], used=stage_table["时限内用时"],
    )
    order = chart_data["name"].tolist()
    statuses = [STATUS_DONE, STATUS_ON_TIME, STATUS_GOING, STATUS_LATE, STATUS_GOING_LATE, STATUS_UNRECORDED]
    palette = ["#7f8c8d", "#2ca02c", "#f0b400", "#d62728", "#8b0000", "#c7c7c7"]
    base = alt.Chart(chart_data).encode(y=alt.Y("name:N", title=None, sort=order))
    color = alt.Color("status:N", title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=statuses, range=palette))
    tooltip = [alt.Tooltip("name:N", title="环节"), alt.Tooltip("end:T", title="时间", format="%Y-%m-%d %H:%M"),
               alt.Tooltip("spent:N", title="距上一环节"), alt.Tooltip("limit:N", title="适用时限"),
               alt.Tooltip("used:N", title="时限内用时"), alt.Tooltip("status:N", title="状态")]
    chart = alt.layer(
        base.mark_bar(height=16).encode(x=alt.X("start:T", title="日期", axis=alt.Axis(format="%Y-%m-%d")),
                                        x2="end:T", color=color, tooltip=tooltip),
        base.mark_point(filled=True, size=70).encode(x="end:T", color=color, tooltip=tooltip),
        base.transform_filter("isValid(datum.due)").mark_tick(color="#333", thickness=2, size=26).encode(
            x="due:T", tooltip=[alt.Tooltip("name:N", title="环节"),
                                alt.Tooltip("due:T", title="期限", format="%Y-%m-%d")]),
    ).properties(height=alt.Step(34))
    charts.show(chart, width="stretch")
    st.caption("每条横条为该环节距上一环节的用时，圆点为完成时间（进行中的到今天）；竖线为期限；"
               "红色为超过期限，黄色为仍在进行。")

st.markdown("**办理过程**")
if events.empty:
    st.info("暂无办理记录。")
else:
    event_table = pd.DataFrame({
        "环节": events["kind"].map(lambda k: label(EVENT_KINDS, k)),
        "时间": pd.to_datetime(events["at"]).dt.strftime("%Y-%m-%d %H:%M"),
        "经办": events["actor"].fillna("—"),
        "说明": events["note"].fillna(""),
    })
    st.dataframe(event_table, hide_index=True, key="case_events")
    widgets.download_buttons(event_table, f"{case['case_no']}办理过程", title + " · 办理过程",
                             key="case_events_download")

st.markdown("**催办记录**")
if reminders.empty:
    st.caption("暂无催办记录。")
else:
    reminder_table = pd.DataFrame({
        "日期": reminders["reminded_on"], "级别": reminders["level"].map(REMINDER_LEVELS),
        "办理期限": reminders["handling_due"],
        "剩余/超期": reminders["days_left"].map(lambda d: "—" if pd.isna(d) else days_left_text(int(d))),
        "单位": reminders["unit_name"].fillna("—"),
    })
    st.dataframe(reminder_table, hide_index=True, key="case_reminders")
    widgets.download_buttons(reminder_table, f"{case['case_no']}催办记录", title + " · 催办记录",
                             key="case_reminders_download")

st.markdown("**督查会抽查与点评**")
if not draws_of_case.empty:
    st.caption("曾被抽中：" + "、".join(f"抽查记录 #{d}（{t:%Y-%m-%d}）" for d, t in
                                  zip(draws_of_case["draw_id"], draws_of_case["created_at"], strict=True)))
if meeting_notes.empty:
    st.caption("暂无督查会记录。")
else:
    meeting_table = pd.DataFrame({
        "抽查记录": meeting_notes["draw_id"].map(lambda d: f"#{d}"), "评价": meeting_notes["rating"].map(RATINGS),
        "包案领导汇报": meeting_notes["leader_report"], "点评意见": meeting_notes["comment"].fillna(""),
        "跟进时限": meeting_notes["follow_up_due"], "记录时间": meeting_notes["recorded_at"],
    })
    st.dataframe(meeting_table, hide_index=True, key="case_meetings")
    widgets.download_buttons(meeting_table, f"{case['case_no']}督查会点评", title + " · 督查会抽查与点评",
                             key="case_meetings_download")

open_follow_up = not meeting_notes.empty and meeting_notes["follow_up_due"].notna().any()
if not progress_reports.empty:
    st.markdown("**督查会跟进情况**")
    progress_table = pd.DataFrame({
        "填报时间": pd.to_datetime(progress_reports["reported_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        "跟进情况": progress_reports["progress"], "填报人": progress_reports["reported_by"],
    })
    st.dataframe(progress_table, hide_index=True, key="case_follow_ups")
    widgets.download_buttons(progress_table, f"{case['case_no']}跟进情况", title + " · 督查会跟进情况",
                             key="case_follow_ups_download")
if open_follow_up and allowed(actor, "follow_up"):
    with st.form("follow_up_form", clear_on_submit=True):
        progress = st.text_area("填报跟进情况（已做工作、进展、下一步）", key="follow_up_progress", max_chars=2000)
        if st.form_submit_button("提交跟进情况", key="follow_up_submit"):
            try:
                widgets.run_action(actions.report_follow_up, case_no, progress)
            except actions.ActionError as error:
                st.error(widgets.plain(error))
            else:
                st.rerun()

from pages import case_accountability  # noqa: E402  (the accountability loop's sections)

case_accountability.show(case, actor, title)

st.markdown("**附件**（照片、录音、视频、文档）")
with widgets.engine().connect() as conn:
    files = attachment_listing(conn, int(case["case_id"]))
if files.empty:
    st.caption("暂无附件。")
else:
    file_table = pd.DataFrame({
        "文件名": files["filename"], "类型": files["kind"].map(lambda k: KINDS[k][0]),
        "大小（KB）": (files["size_bytes"] / 1024).round(1), "上传人": files["uploaded_by"],
        "上传时间": pd.to_datetime(files["uploaded_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        "SHA-256": files["sha256"],
    })
    for row in files.itertuples():
        left, right = st.columns([4, 1])
        left.markdown(f"{KINDS[row.kind][0]} · {widgets.plain(row.filename)} · {row.size_bytes / 1024:,.1f} KB · "
                      f"{row.uploaded_by} {row.uploaded_at:%Y-%m-%d %H:%M}")
        if attachment_exists(row.stored_name):
            # The bytes are read when the button is clicked, not on every run of the page.
            widgets.export_button(right, "下载", attachment_loader(row.stored_name, row.filename),
                                  file_name=row.filename, mime="application/octet-stream", what=f"{case_no} 附件",
                                  key=f"attachment_{row.id}")
        else:
            right.caption("文件缺失")
    widgets.download_buttons(file_table, f"{case['case_no']}附件清单", title + " · 附件清单",
                             key="case_attachments_download")
if allowed(actor, "attach"):
    upload = st.file_uploader("上传附件", type=[e.lstrip(".") for e in EXTENSIONS], key=f"upload_{case['case_no']}")
    widgets.uploader_hint("附件（" + "、".join(e.lstrip(".") for e in EXTENSIONS) + "）")
    if upload is not None and st.button("保存附件", key="save_attachment"):
        try:
            widgets.run_action(actions.save_attachment, case_no, upload.name, upload.getvalue())
        except AttachmentError as error:
            st.error(widgets.plain(error))
        else:
            st.rerun()
