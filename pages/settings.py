"""设置 settings: holiday schedule import, time-limit presets per county, color rules."""

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard import rules as color_rules
from dashboard.deadlines import (
    ALL_TRACKS,
    DEFAULT_PRESET,
    LIMIT_NAMES,
    LIMITS,
    RuleError,
    assignment_history,
    describe_limit,
    load_presets,
)
from dashboard.labels import ASSIGNMENT_STATUS, CALENDAR_SOURCES, TRACKS
from dashboard.workdays import (
    KINDS,
    UNITS,
    CalendarFileError,
    parse_holiday_csv,
    plan_import,
    schedule_years,
)
from pages import ensure_navigation, session, widgets

ensure_navigation()
actor = session.require("settings")



def notice(message: str) -> None:
    """After a save: show the page again with the new data (the action has dropped the
    cached figures it changed)."""
    st.session_state["settings_notice"] = message
    st.rerun()


def table(rows: list[dict] | pd.DataFrame, name: str, *, key: str, **options) -> None:
    """A settings table with its Excel/CSV downloads."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    st.dataframe(frame, hide_index=True, key=key, **options)
    widgets.download_buttons(frame, f"{name}_{today:%Y%m%d}", f"{name} · {today:%Y-%m-%d}", key=f"{key}_download")


scope = widgets.current_scope()
today = config.today()
county_frame, _ = widgets.region_frames(scope)
region_names = {scope.region_code: f"{scope.name}（全市默认）", **dict(zip(county_frame["code"], county_frame["name"], strict=True))}

st.title("设置")
if "settings_notice" in st.session_state:  # the outcome of the last save, after a rerun
    st.success(widgets.plain(st.session_state.pop("settings_notice")))
holiday_tab, preset_tab, color_tab = st.tabs(["节假日安排", "时限规则", "三色规则"])

with holiday_tab:
    st.markdown(
        "工作日按国务院办公厅公布的节假日安排（含调休上班）计算。系统已内置的年份自动生效，"
        "为这些年份导入的日期只逐日更正内置安排（其余日期不变）；系统未内置的年份请在国务院办公厅公布安排后导入，"
        "导入的文件即为该年的全部安排，会替换该年此前导入的日期。"
        "导入后重新计算未办结案件的期限；已办结案件保留办理时的期限（期限为“暂定”的除外）。"
    )
    with widgets.engine().connect() as conn:
        years = schedule_years(conn)
    table(
        [{"年份": y["year"],
          "来源": CALENDAR_SOURCES[y["source"]] + ("（含管理员更正）" if y["source"] == "package" and y["table_rows"] else ""),
          "已导入天数": y["table_rows"], "检查": "；".join(y["warnings"]) or ""} for y in years],
        "节假日安排来源", key="holiday_years",
    )
    for year in years:
        for warning in year["warnings"]:
            st.warning(widgets.plain(warning))
    st.caption("文件格式：CSV，每行“日期,类型,名称”，类型为 holiday（放假）或 workday（调休上班），"
               "例如 `2027-02-06,holiday,春节`。UTF-8 或 GBK 编码均可。")
    upload = st.file_uploader("选择节假日安排文件", type=["csv"], key="holiday_file")
    widgets.uploader_hint("CSV 文件")
    if upload is not None:
        try:
            rows = parse_holiday_csv(upload.getvalue(), upload.name)
        except CalendarFileError as error:
            st.error(widgets.plain(error))
        else:
            table([{"日期": r.day, "类型": KINDS[r.kind], "名称": r.name} for r in rows],
                  "节假日安排导入预览", key="holiday_preview", height=240)
            with widgets.engine().connect() as conn:
                plans = plan_import(conn, rows)
            st.markdown("导入后：\n" + "\n".join(f"- {widgets.plain(plan.describe())}" for plan in plans))
            for plan in plans:
                for warning in plan.warnings:
                    st.warning(widgets.plain(warning))
            if st.button(f"导入 {len(rows)} 天并重新计算期限", type="primary", key="holiday_import"):
                plans, changed = widgets.run_action(actions.import_calendar, rows)
                # An incomplete schedule stays flagged under the table of years.
                notice("已导入：" + " ".join(plan.describe() for plan in plans)
                       + f" {changed} 件案件（未办结的，及期限为“暂定”的已办结案件）的期限已重新计算。")

with preset_tab:
    with widgets.engine().connect() as conn:
        presets = load_presets(conn)
        history = assignment_history(conn, today)
    st.markdown("各预设规则的时限（“日”为自然日，到期日遇节假日顺延至下一个工作日）：")
    table(
        [
            {
                "规则": p.title, "代码": p.name,
                "受理": describe_limit(p.acceptance_days, p.acceptance_unit),
                "办理": describe_limit(p.handling_days, p.handling_unit),
                "延期": f"{p.max_extensions} 次，每次至多 {describe_limit(p.extension_max_days, p.extension_unit)}"
                if p.max_extensions else "不可延期",
                "初步反馈": describe_limit(p.feedback_days, p.feedback_unit),
                "见面（初信初访）": describe_limit(p.meeting_days, p.meeting_unit),
                "复查、复核": describe_limit(p.review_days, p.review_unit),
                "说明": p.note,
                "最近修改": f"{p.updated_at:%Y-%m-%d %H:%M} {p.updated_by or ''}" if p.updated_at else "",
            }
            for p in presets.values()
        ],
        "时限预设规则", key="preset_table",
    )

    st.markdown("**修改预设规则的时限**")
    st.caption("可改天数，或改按自然日 / 工作日计算。保存后，适用该规则的未办结案件按新时限重新计算期限；"
               "已办结案件保留办理时的期限，指标不受影响。")
    left, right = st.columns(2)
    edit_name = left.selectbox("要修改的规则", list(presets), format_func=lambda n: presets[n].title, key="edit_preset")
    edit_limit = right.selectbox("要修改的时限", LIMITS, format_func=LIMIT_NAMES.get, key="edit_limit")
    current_days, current_unit = presets[edit_name].limit(edit_limit)
    if st.session_state.get("edit_for") != (edit_name, edit_limit):  # show the current values
        st.session_state["edit_for"] = (edit_name, edit_limit)
        st.session_state["edit_days"] = current_days if current_days is not None else 0
        st.session_state["edit_unit"] = current_unit
    with st.form("edit_form"):
        left, right = st.columns(2)
        st.caption(f"现为：{describe_limit(current_days, current_unit) or '无此时限'}。"
                   + ("延期填 0 表示不可延期。" if edit_limit == "extension" else "0 表示当日（遇休息日为下一个工作日）。"))
        days = left.number_input("天数", 0, 365, step=1, key="edit_days")
        unit = right.radio("计算方式", list(UNITS), format_func=UNITS.get, horizontal=True, key="edit_unit")
        if st.form_submit_button("保存并重新计算未办结案件", type="primary"):
            try:
                changed = widgets.run_action(actions.edit_preset, edit_name, edit_limit, days=int(days), unit=unit)
                with widgets.engine().connect() as conn:
                    edited = load_presets(conn)[edit_name]
            except RuleError as error:
                st.error(widgets.plain(error))
            else:
                st.session_state.pop("edit_for", None)
                new_days, new_unit = edited.limit(edit_limit)
                notice(f"已修改“{edited.title}”的{LIMIT_NAMES[edit_limit]}时限为 {describe_limit(new_days, new_unit) or '无'}；"
                       f"{changed} 件未办结案件的期限已重新计算，已办结案件保留原期限。")

    st.markdown("**各县区适用的规则**（按案件登记日期适用；未单独设定的县区用全市默认；全市默认未设定时为国家条例）")
    if history.empty:
        shown = pd.DataFrame([{"区划": region_names[scope.region_code], "办理程序": "全部程序",
                               "规则": presets[DEFAULT_PRESET].title, "生效日期": "", "状态": "现行（默认）",
                               "设定人": "", "设定时间": ""}])
    else:
        shown = pd.DataFrame({
            "区划": history["region_code"].map(lambda code: region_names.get(code, code)),
            "办理程序": history["track"].map(lambda t: TRACKS.get(t, "全部程序")),
            "规则": history["preset"].map(lambda n: presets[n].title if n in presets else n),
            "生效日期": history["effective_from"],
            "状态": history["status"].map(ASSIGNMENT_STATUS),
            "设定人": history["recorded_by"].fillna(""),
            "设定时间": history["recorded_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}" if pd.notna(t) else ""),
        })
    table(shown, "时限规则适用情况", key="assignment_table")
    with st.form("assign_form"):
        left, middle, right, last = st.columns(4)
        region = left.selectbox("区划", list(region_names), format_func=region_names.get, key="assign_region")
        track = middle.selectbox("办理程序", [ALL_TRACKS, *TRACKS], format_func=lambda t: TRACKS.get(t, "全部程序"),
                                 key="assign_track")
        preset = right.selectbox("适用规则", list(presets), format_func=lambda n: presets[n].title, key="assign_preset")
        effective_from = last.date_input("自登记日期起生效", value=today, format="YYYY-MM-DD", key="assign_from")
        st.caption("生效日期之前登记的案件仍按原规则；已办结案件保留办理时的期限。同一区划、程序和生效日期的设定会被替换。")
        if st.form_submit_button("保存并重新计算期限", type="primary"):
            try:
                changed = widgets.run_action(actions.assign_rule, region, preset, track,
                                             effective_from=effective_from)
            except RuleError as error:
                st.error(widgets.plain(error))
            else:
                notice(f"已设定：{region_names[region]} {TRACKS.get(track, '全部程序')} 自 {effective_from:%Y-%m-%d} "
                       f"起登记的案件适用“{presets[preset].title}”；{changed} 件未办结案件的期限已重新计算，"
                       "此前登记的案件和已办结案件保留原期限。")

with color_tab:
    st.markdown("三色督办阈值：各县区可单独设定，未设定的用全市默认。")
    with widgets.engine().connect() as conn:
        book = color_rules.load_rules(conn)
    table(
        [
            {
                "区划": region_names[code],
                "黄色：剩余天数 ≤": rule.yellow_days_left,
                "黄色：已用时限 ≥": f"{rule.yellow_used_share:.0%}",
                "红色：超过期限": "是" if rule.red_past_deadline else "否",
                "红色：积案超过化解目标日期": "是" if rule.red_backlog_past_target else "否",
                "来源": "全市默认" if code == scope.region_code else ("本县区设定" if code in book.by_region else "沿用全市默认"),
            }
            for code, rule in [(scope.region_code, book.default)]
            + [(code, book.for_county(code)) for code in county_frame["code"]]
        ],
        "三色督办阈值", key="color_rule_table",
    )
    region = st.selectbox("修改哪个区划的阈值", list(region_names), format_func=region_names.get, key="color_region")
    current = book.default if region == scope.region_code else book.for_county(region)
    with st.form("color_form"):
        left, right = st.columns(2)
        days = left.number_input("黄色：剩余天数不超过", 0, 60, current.yellow_days_left, key="color_days")
        share = right.number_input("黄色：已用时限达到（%）", 1, 100, round(current.yellow_used_share * 100), key="color_share")
        red_deadline = left.checkbox("红色：超过受理或办理期限", current.red_past_deadline, key="color_red_deadline")
        red_target = right.checkbox("红色：积案超过化解目标日期", current.red_backlog_past_target, key="color_red_target")
        use_default = region != scope.region_code and st.checkbox(
            "沿用全市默认（删除本县区设定）", key="color_use_default")
        if st.form_submit_button("保存三色规则", type="primary"):
            rule = None if use_default else color_rules.ColorRule(int(days), share / 100, red_deadline, red_target)
            widgets.run_action(actions.save_color_rule, region, rule)
            notice(f"已保存 {region_names[region]} 的三色规则，所有页面即时生效。")
