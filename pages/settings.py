"""设置 settings: holiday schedule import, time-limit presets per county, color rules."""

import streamlit as st

from dashboard import rules as color_rules
from dashboard.deadlines import (
    ALL_TRACKS,
    DEFAULT_PRESET,
    RuleError,
    assign_preset,
    describe_limit,
    load_assignments,
    load_presets,
    recompute,
)
from dashboard.labels import TRACKS
from dashboard.workdays import (
    KINDS,
    CalendarFileError,
    import_holidays,
    parse_holiday_csv,
    schedule_years,
)
from pages import ensure_navigation, widgets

ensure_navigation()

SOURCES = {"package": "chinese-calendar 软件包", "table": "管理员导入", "weekends": "未导入：仅按周末推算，期限标为“暂定”"}



def notice(message: str) -> None:
    """After a save: drop cached figures and show the page again with the new data."""
    widgets.clear_cache()
    st.session_state["settings_notice"] = message
    st.rerun()


scope = widgets.current_scope()
county_frame, _ = widgets.region_frames(scope)
region_names = {scope.region_code: f"{scope.name}（全市默认）", **dict(zip(county_frame["code"], county_frame["name"], strict=True))}

st.title("设置")
if "settings_notice" in st.session_state:  # the outcome of the last save, after a rerun
    st.success(st.session_state.pop("settings_notice"))
holiday_tab, preset_tab, color_tab = st.tabs(["节假日安排", "时限规则", "三色规则"])

with holiday_tab:
    st.markdown(
        "工作日按国务院办公厅公布的节假日安排（含调休上班）计算。软件包已内置的年份自动生效；"
        "其余年份请在安排公布后导入。导入某年的文件会替换该年已导入的全部日期。"
    )
    with widgets.engine().connect() as conn:
        years = schedule_years(conn)
    st.dataframe(
        [{"年份": y["year"], "来源": SOURCES[y["source"]], "已导入天数": y["table_rows"]} for y in years],
        hide_index=True, key="holiday_years",
    )
    st.caption("文件格式：CSV，每行“日期,类型,名称”，类型为 holiday（放假）或 workday（调休上班），"
               "例如 `2027-02-06,holiday,春节`。UTF-8 或 GBK 编码均可。")
    upload = st.file_uploader("选择节假日安排文件", type=["csv"], key="holiday_file")
    if upload is not None:
        try:
            rows = parse_holiday_csv(upload.getvalue(), upload.name)
        except CalendarFileError as error:
            st.error(str(error))
        else:
            st.dataframe(
                [{"日期": r.day, "类型": KINDS[r.kind], "名称": r.name} for r in rows],
                hide_index=True, height=240, key="holiday_preview",
            )
            if st.button(f"导入 {len(rows)} 天并重新计算期限", type="primary", key="holiday_import"):
                with widgets.engine().begin() as conn:
                    counts = import_holidays(conn, rows)
                    changed = recompute(conn)
                notice("已导入：" + "，".join(f"{y} 年 {n} 天" for y, n in counts.items())
                       + f"；{changed} 件案件的期限已重新计算。")

with preset_tab:
    with widgets.engine().connect() as conn:
        presets = load_presets(conn)
        assignments = load_assignments(conn)
    st.markdown("各预设规则的时限（“日”为自然日，到期日遇节假日顺延至下一个工作日）：")
    st.dataframe(
        [
            {
                "规则": p.title, "代码": p.name,
                "受理": describe_limit(p.acceptance_days, p.acceptance_unit),
                "办理": describe_limit(p.handling_days, p.handling_unit),
                "延期": f"{p.max_extensions} 次，每次至多 {describe_limit(p.extension_max_days, p.extension_unit)}"
                if p.max_extensions else "不可延期",
                "初步反馈": describe_limit(p.feedback_days, p.feedback_unit),
                "见面": describe_limit(p.meeting_days, p.meeting_unit),
                "说明": p.note,
            }
            for p in presets.values()
        ],
        hide_index=True, key="preset_table",
    )
    st.markdown("**当前适用**（未单独设定的县区用全市默认；全市默认未设定时为国家条例）")
    st.dataframe(
        [
            {"区划": region_names.get(region, region), "办理程序": TRACKS.get(track, "全部程序"),
             "规则": presets[name].title if name in presets else name}
            for (region, track), name in sorted(assignments.items())
        ] or [{"区划": region_names[scope.region_code], "办理程序": "全部程序", "规则": presets[DEFAULT_PRESET].title}],
        hide_index=True, key="assignment_table",
    )
    with st.form("assign_form"):
        left, middle, right = st.columns(3)
        region = left.selectbox("区划", list(region_names), format_func=region_names.get, key="assign_region")
        track = middle.selectbox("办理程序", [ALL_TRACKS, *TRACKS], format_func=lambda t: TRACKS.get(t, "全部程序"),
                                 key="assign_track")
        preset = right.selectbox("规则", list(presets), format_func=lambda n: presets[n].title, key="assign_preset")
        if st.form_submit_button("保存并重新计算期限", type="primary"):
            try:
                with widgets.engine().begin() as conn:
                    changed = assign_preset(conn, region, preset, track)
            except RuleError as error:
                st.error(str(error))
            else:
                notice(f"已设定：{region_names[region]} {TRACKS.get(track, '全部程序')} 适用“{presets[preset].title}”；"
                       f"{changed} 件案件的期限已重新计算。")

with color_tab:
    st.markdown("三色督办阈值：各县区可单独设定，未设定的用全市默认（领域说明 §5）。")
    with widgets.engine().connect() as conn:
        book = color_rules.load_rules(conn)
    st.dataframe(
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
        hide_index=True, key="color_rule_table",
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
            with widgets.engine().begin() as conn:
                color_rules.save_rule(conn, region, rule, by="设置页面")
            notice(f"已保存 {region_names[region]} 的三色规则，所有页面即时生效。")
