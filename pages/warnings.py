"""预警预测: today's early warnings (一单三推) for the user's area with acknowledge / act /
close and the downloadable notice, and the backlog clearance forecast (积案清零) with the
counties that will miss their target first."""

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.labels import WARNING_STATUS
from dashboard.permissions import allowed
from pages import charts, ensure_navigation, session, widgets
from queries.forecast import clearance_forecast, weekly_backlog
from queries.warnings import deliveries, open_warnings, sensitive_period_list, warning_counts

ensure_navigation()
actor = session.require("view")


def tile(column, title: str, value: str, note: str | None = None, help: str | None = None,
         color: str = "off") -> None:
    """A figure with a note under it (not a change: no arrow)."""
    column.metric(title, value, delta=note, help=help, border=True, delta_color=color, delta_arrow="off")


scope = widgets.current_scope()
filters = widgets.current_filters()
today = config.today()

st.title("预警预测")
periods = widgets.run_query(sensitive_period_list, scope, filters, today)
current = periods[periods["current"]] if not periods.empty else periods
st.caption(widgets.plain(f"{scope.name} · {today:%Y-%m-%d}"
                         + (f" · 敏感时期：{'、'.join(current['name'])}（预警阈值已降低）" if len(current) else "")))

warning_tab, forecast_tab = st.tabs(["信访预警（一单三推）", "积案清零预测"])

# ---------------------------------------------------------------- warnings
with warning_tab:
    if allowed(actor, "warn"):
        if st.button("发布今日预警", key="warn_raise", help="按预警规则检测各乡镇、各领域近 7 日和 30 日的信访量；同一天重复发布只补充新增的预警"):
            try:
                new, total = widgets.run_action(actions.raise_warnings, today, today)
                st.success(f"今日共 {total} 条预警，本次新发布 {new} 条。")
            except actions.ActionError as error:
                st.error(widgets.plain(error))
    shown = widgets.run_query(open_warnings, scope, filters, today)
    today_count = int((shown["raised_on"] == today).sum()) if not shown.empty else 0
    counts = widgets.run_query(warning_counts, scope, filters)
    tiles = st.columns(4)
    tile(tiles[0], "今日预警（条）", f"{today_count}")
    tile(tiles[1], "未关闭预警（条）", f"{len(shown)}")
    tile(tiles[2], "本期预警（条）", f"{counts['warnings']}",
                     f"已关闭 {counts['by_status']['closed']} 条")
    hours = counts["mean_hours_to_acknowledge"]
    tile(tiles[3], "平均签收用时", "—" if hours is None else f"{hours:.1f} 小时",
                     f"已签收 {counts['pushes_acknowledged']} / {counts['pushes']} 次推送",
                     help="期内预警推送到本地区各接收方后，到签收的平均小时数（未签收的不计）")
    if shown.empty:
        st.success("目前没有未关闭的预警：各乡镇各领域近 7 日、30 日信访量均未显著高于基线。")
    else:
        badge = {"raised": "red", "acknowledged": "orange", "acting": "blue", "closed": "gray"}
        for row in shown.head(30).itertuples():
            with st.container(border=True):
                left, right = st.columns([6, 1])
                left.markdown(
                    f"**{widgets.plain(row.county_name)}{widgets.plain(row.region_name)} · {row.domain_name}**"
                    f"　预警 \\#{row.id}，{row.raised_on:%m月%d日}发布" + ("（敏感时期）" if row.sensitive else "") + "  \n"
                    f"近 {row.window_days} 日登记 **{row.observed}** 件，按前 12 个月同期水平预期约 {row.expected:.1f} 件"
                    f"（p = {row.p_value:.1e}）")
                right.markdown(f":{badge.get(row.status, 'gray')}-badge[{WARNING_STATUS[row.status]}]")
        if len(shown) > 30:
            st.caption(f"另有 {len(shown) - 30} 条较早的未关闭预警，见下载的清单。")
        table = pd.DataFrame({
            "编号": shown["id"], "发布日期": shown["raised_on"], "县区": shown["county_name"],
            "乡镇（街道）": shown["region_name"], "问题": shown["domain_name"], "时间窗（日）": shown["window_days"],
            "登记件数": shown["observed"], "预期件数": shown["expected"].round(2), "p 值": shown["p_value"],
            "状态": shown["status"].map(WARNING_STATUS),
        })
        widgets.download_buttons(table, "未关闭预警", f"未关闭预警 · {scope.name} · 截至 {today:%Y-%m-%d}",
                                 key="warning_download")
        st.caption("预警针对地区和问题，不涉及具体信访人。预期件数：前 12 个月的同窗口水平按全市季节因子调整；"
                   "p 值越小，增幅越不可能是偶然波动。")

    pushes = widgets.run_query(deliveries, scope, filters, today)
    st.subheader("推送给本地区的预警")
    if pushes.empty:
        st.info("没有需要本地区签收或处置的预警。")
    else:
        by_id = shown.set_index("id") if not shown.empty else pd.DataFrame()
        listed = pushes.assign(
            预警=pushes["warning_id"].map(lambda i: f"#{i} " + (
                f"{by_id.loc[i, 'region_name']} {by_id.loc[i, 'domain_name']}" if i in by_id.index else "")),
            签收=pushes["acknowledged_at"].map(lambda t: "未签收" if pd.isna(t) else f"{pd.Timestamp(t):%m-%d %H:%M}"),
            处置=pushes["action_note"].fillna("—"),
        )
        st.dataframe(listed[["预警", "recipient_kind", "recipient_name", "签收", "处置"]].rename(
            columns={"recipient_kind": "接收方", "recipient_name": "名称"}), hide_index=True, key="push_table",
            width="stretch")
        if allowed(actor, "respond"):
            open_pushes = pushes[pushes["warning_id"].isin(shown["id"])] if not shown.empty else pushes.iloc[:0]
            if not open_pushes.empty:
                labels = {int(r.delivery_id): f"#{r.warning_id} → {r.recipient_name}" for r in open_pushes.itertuples()}
                left, right = st.columns(2)
                chosen = left.selectbox("选择推送", list(labels), format_func=labels.get, key="push_choice")
                if left.button("签收", key="push_ack"):
                    try:
                        widgets.run_action(actions.acknowledge_warning, chosen)
                        st.rerun()
                    except actions.ActionError as error:
                        left.error(widgets.plain(error))
                note = right.text_area("处置情况", key="push_note", placeholder="已采取的措施、进展、下一步")
                if right.button("填报处置", key="push_act"):
                    try:
                        widgets.run_action(actions.act_on_warning, chosen, note)
                        st.rerun()
                    except actions.ActionError as error:
                        right.error(widgets.plain(error))

    if not shown.empty:
        st.subheader("预警提示单")
        left, right = st.columns(2)
        notice_labels = {int(r.id): f"#{r.id} {r.county_name}{r.region_name} {r.domain_name} 近 {r.window_days} 日"
                         for r in shown.itertuples()}
        picked = left.selectbox("预警", list(notice_labels), format_func=notice_labels.get, key="notice_choice")

        def notice_bytes(warning_id=picked) -> bytes:
            from entrypoints.bulletin import warning_notice_docx

            row = shown[shown["id"] == warning_id].iloc[0].to_dict()
            own = pushes[pushes["warning_id"] == warning_id].to_dict("records") if not pushes.empty else []
            return warning_notice_docx(row, own, city_name=scope.name if scope.level == "city" else "")

        widgets.export_button(left, "下载预警提示单（Word）", notice_bytes, file_name=f"预警提示单_{picked}.docx",
                              mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                              key="notice_download", what=f"预警提示单 #{picked}")
        if allowed(actor, "warn"):
            reason = right.text_input("关闭理由", key="close_reason", placeholder="如：问题已化解，访情回落")
            if right.button("关闭预警", key="close_warning"):
                try:
                    widgets.run_action(actions.close_warning, picked, reason)
                    st.rerun()
                except actions.ActionError as error:
                    right.error(widgets.plain(error))

    with st.expander("预警规则与敏感时期"):
        st.markdown(
            "- 每天对每个乡镇（街道）× 每个问题领域（另加**集体访**：5 人以上来访；**越级访**：赴省、进京），"
            "比较近 7 日、近 30 日的登记件数与其前 12 个月的同窗口水平；\n"
            "- 预期件数 =（基线件数 + 0.5）× 窗口天数 ÷ 365 × 全市季节因子（去年同期窗口相对其前 12 个月的水平，限 0.5–2）；\n"
            "- 单侧泊松检验 p ≤ α ÷ 检验格数（Bonferroni 校正，α = 0.01：全市一天内出现任何一条误报的概率不超过 1%），"
            "且件数不少于 3（7 日）/ 5（30 日）件、不低于预期的 1.5 倍时预警；\n"
            "- 敏感时期内：α = 0.05，最少 2 / 3 件，不低于预期的 1.2 倍。")
        if not periods.empty:
            st.dataframe(periods.rename(columns={"name": "名称", "starts_on": "开始", "ends_on": "结束",
                                                 "created_by": "录入人", "current": "进行中"}).drop(columns="id"),
                         hide_index=True, key="sensitive_table")
        if allowed(actor, "sensitive"):
            with st.form("sensitive_form"):
                name = st.text_input("敏感时期名称", placeholder="如：全国两会期间")
                span = st.date_input("起止日期", value=(today, today + dt.timedelta(days=7)))
                if st.form_submit_button("录入敏感时期"):
                    if not isinstance(span, tuple) or len(span) != 2:
                        st.error("请选择开始和结束两个日期。")
                    else:
                        try:
                            widgets.run_action(actions.add_sensitive_period, name, span[0], span[1])
                            st.rerun()
                        except actions.ActionError as error:
                            st.error(widgets.plain(error))

# ---------------------------------------------------------------- forecast
with forecast_tab:
    forecast = widgets.run_query(clearance_forecast, scope, filters, today)
    weekly = widgets.run_query(weekly_backlog, scope, filters, today)
    own = forecast.iloc[0]
    rest = forecast.iloc[1:]
    missing = rest[rest["on_track"] == False]  # noqa: E712  (a column of booleans)

    def when(row) -> str:
        return "按当前进度无法清零" if row["projected_zero_date"] is None else f"{row['projected_zero_date']:%Y-%m-%d}"

    tiles = st.columns(4)
    tile(tiles[0], "未化解积案（件）", f"{int(own['unresolved'])}")
    tile(tiles[1], "每周净化解（件）", f"{own['weekly_pace']:.1f}", f"约 95% 区间 ±{1.96 * own['pace_se']:.1f}",
                     help="近 12 周每周末未化解积案的直线拟合斜率（取负），已扣除新增积案")
    tile(tiles[2], "预计清零", when(own),
                     None if own["projected_zero_date"] is None else
                     f"区间 {own['low']:%Y-%m-%d} ~ {'不确定' if own['high'] is None else format(own['high'], '%Y-%m-%d')}")
    tile(tiles[3], "清零目标", f"{own['target_date']:%Y-%m-%d}",
                     "可按期清零" if own["on_track"] else "将超期", color="green" if own["on_track"] else "red")
    if len(rest):
        if len(missing):
            st.error(widgets.plain(f"按当前进度将超过清零目标的县区：{'、'.join(missing['region_name'])}（列在表首）"))
        else:
            st.success("各县区按当前进度均可在目标日期前清零。")
    table = forecast if len(rest) == 0 else rest
    st.dataframe(pd.DataFrame({
        "县区": table["region_name"], "未化解积案": table["unresolved"], "每周净化解": table["weekly_pace"].round(1),
        "预计清零": [when(r) for r in table.to_dict("records")],
        "最早": table["low"], "最晚": table["high"].map(lambda d: "不确定" if d is None else d),
        "目标日期": table["target_date"], "目标来源": table["target_set"].map({True: "已设定", False: "默认年底"}),
        "能否按期": table["on_track"].map({True: "可按期", False: "将超期"}),
    }), hide_index=True, key="forecast_table", width="stretch")
    chart = weekly if len(rest) == 0 else weekly[weekly["level"] != "city"]
    # The projection: from today's level straight to the projected zero date (dashed).
    projected = [
        {"region_name": r["region_name"], "week_end": d, "unresolved": v}
        for r in table.to_dict("records") if r["projected_zero_date"] is not None
        for d, v in ((today, r["unresolved"]), (r["projected_zero_date"], 0))
    ]
    color = alt.Color("region_name:N", title=None, legend=alt.Legend(orient="top"))
    layers = [
        alt.Chart(chart).mark_line(point=True).encode(
            x=alt.X("week_end:T", title="日期", axis=alt.Axis(format="%Y-%m-%d", tickCount=8)),
            y=alt.Y("unresolved:Q", title="未化解积案（件）"), color=color,
            tooltip=[alt.Tooltip("region_name:N", title="地区"),
                     alt.Tooltip("week_end:T", title="周末", format="%Y-%m-%d"),
                     alt.Tooltip("unresolved:Q", title="未化解")]),
    ]
    if projected:
        layers.append(alt.Chart(pd.DataFrame(projected)).mark_line(strokeDash=[6, 4]).encode(
            x="week_end:T", y="unresolved:Q", color=color,
            tooltip=[alt.Tooltip("region_name:N", title="地区"),
                     alt.Tooltip("week_end:T", title="预计", format="%Y-%m-%d")]))
    if len(table) == 1:
        layers.append(alt.Chart(pd.DataFrame({"target": [table.iloc[0]["target_date"]]})).mark_rule(
            color="#c0392b", strokeWidth=2).encode(x="target:T", tooltip=[alt.Tooltip("target:T", title="清零目标",
                                                                                     format="%Y-%m-%d")]))
    charts.show(alt.layer(*layers).properties(height=300), width="stretch")
    st.caption("实线：近 12 周每周末的未化解积案；虚线：按当前进度的清零预测" + ("；红线：清零目标日期。" if len(table) == 1 else "。"))
    st.caption("方法：取近 12 周每周末的未化解积案数做最小二乘直线，斜率取负为每周净化解量（化解减新增）；"
               "预计清零日期 = 现有积案 ÷ 每周净化解量；区间按净化解量 ± 1.96 倍标准误计算；净化解量不为正时无法清零。")
    if allowed(actor, "settings"):
        with st.form("target_form"):
            st.markdown("设定积案清零目标日期")
            options = dict(zip(forecast["region"], forecast["region_name"], strict=True))
            code = st.selectbox("县区（或全市）", list(options), format_func=options.get)
            target = st.date_input("目标日期", value=dt.date(today.year, 12, 31), min_value=today)
            if st.form_submit_button("保存目标"):
                try:
                    widgets.run_action(actions.set_backlog_target, code, target, today)
                    st.rerun()
                except actions.ActionError as error:
                    st.error(widgets.plain(error))
