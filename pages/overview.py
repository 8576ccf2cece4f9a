"""总览 overview. Above the fold, the headline a leader reads in five seconds:
unresolved backlog with its change, red (overdue) cases in red, the three townships with
the most unresolved backlog and a small map; then the other indicators, the backlog
trend (the unfinished last month marked), the three-color counts and the top townships."""

import altair as alt
import streamlit as st

from pages import charts, ensure_navigation, maps, session, widgets
from queries.backlog import backlog_by_township, backlog_monthly
from queries.kpi import comparison_indicators, indicators, same_day_last_year
from queries.regions import counties, townships

ensure_navigation()
actor = session.require("view")

TOP_TOWNSHIPS = 10

scope = widgets.current_scope()
filters = widgets.current_filters()
start, end = filters.period

st.title("总览")
st.caption(widgets.describe_filters(scope, filters))

now = widgets.run_query(indicators, scope, filters)
before = widgets.run_query(
    comparison_indicators, scope, filters.with_period(same_day_last_year(start), same_day_last_year(end))
)
monthly = widgets.run_query(backlog_monthly, scope, filters)
towns = widgets.run_query(backlog_by_township, scope, filters)
here = filters.township_code or filters.county_code or scope.region_code

# ---- the headline: what a leader reads in five seconds (on a phone: backlog and red first)
unresolved = now["backlog_total"] - now["backlog_resolved"]
change = None
if len(monthly) >= 2:
    change = int(monthly["remaining"].iloc[-1]) - int(monthly["remaining"].iloc[-2])
figures, worst, small_map = st.columns([1.1, 1.3, 2.2])
with figures:
    with st.container(key="headline_backlog"):
        widgets.kpi_tile(st, "未化解积案（件）", f"{unresolved:,}",
                         None if change is None else "较上月末持平" if change == 0 else f"{change:+,} 件（较上月末）",
                         delta_color="inverse", change=bool(change),
                         help="截至期末尚未化解的积案（不论哪年列入）；较上月末：与上月底未化解件数相比")
    with st.container(key="headline_red"):
        widgets.kpi_tile(st, "红色超期（件）", f"{now['colors']['red']:,}",
                         help="期末在办案件中已超过受理、办理期限或化解目标日期的件数")
    st.caption(f"另有黄色临期 {now['colors']['yellow']:,} 件")
    st.page_link("pages/supervision.py", label="看超期、临期清单 →")
with worst:
    st.markdown("**未化解积案最多的乡镇**")
    top3 = towns[towns["unresolved"] > 0].head(3)
    if top3.empty:
        st.success("期末没有未化解积案。")
    for i, row in enumerate(top3.itertuples(), start=1):
        st.page_link("pages/drill.py", label=f"{i}. {widgets.plain(row.township_name)}（{widgets.plain(row.county_name)}）：{row.unresolved} 件",
                     query_params=widgets.drill_params(row.township_code))
    st.page_link("pages/drill.py", label="逐级下钻：各地区指标与案件 →", query_params=widgets.drill_params(here))
with small_map:
    township_shapes = widgets.run_query(townships, scope, filters, True)
    county_shapes = widgets.run_query(counties, scope, filters, True)
    drawn = maps.show_backlog_map(township_shapes[township_shapes["code"].isin(towns["township_code"])],
                                  county_shapes, towns, height=260, labels=3, font_size=10,
                                  width="stretch", key="overview_map")
    if drawn is not None:
        st.caption("颜色越深未化解积案越多（" + maps.BAND_RULE.split("：", 1)[1].split("（")[0] + "分档）")
    st.page_link("pages/heatmap.py", label="积案热力图：全部乡镇 →", query_params=widgets.link_params())

# ---- the other indicators
st.subheader("主要指标")
row = st.columns(5)
widgets.kpi_tile(row[0], "信访总量（件）", f"{now['total']:,}",
                 None if now["yoy"] is None else widgets.yoy_text(now["yoy"]), delta_color="off",
                 help=f"去年同期 {now['total_same_period_last_year']:,} 件；集体访按件计一次")
widgets.kpi_tile(row[1], "网上信访占比", widgets.percent(now["online_share"]),
                 widgets.rate_delta(now["online_share"], before["online_share"]), delta_color="off")
widgets.kpi_tile(row[2], "及时受理率", widgets.percent(now["timely_acceptance_rate"]),
                 widgets.rate_delta(now["timely_acceptance_rate"], before["timely_acceptance_rate"]),
                 help="期内受理的案件中，在受理期限内受理的比例")
widgets.kpi_tile(row[3], "按期办结率", widgets.percent(now["on_time_closure_rate"]),
                 widgets.rate_delta(now["on_time_closure_rate"], before["on_time_closure_rate"]),
                 help="期内办结的案件中，在办理期限内办结的比例")
widgets.kpi_tile(row[4], "满意率", widgets.percent(now["satisfaction_rate"]),
                 widgets.rate_delta(now["satisfaction_rate"], before["satisfaction_rate"]),
                 help="（满意 + 基本满意）÷ 参评件数")
row = st.columns(5)
widgets.kpi_tile(row[0], "参评率", widgets.percent(now["evaluation_rate"]),
                 widgets.rate_delta(now["evaluation_rate"], before["evaluation_rate"]))
widgets.kpi_tile(row[1], "积案化解率", widgets.percent(now["backlog_resolution_rate"]),
                 f"已化解 {now['backlog_resolved']:,} / {now['backlog_total']:,} 件", change=False,
                 help="截至期末：已化解积案 ÷ 全部积案（不论哪年列入）")
widgets.kpi_tile(row[2], "集体访", f"{now['collective_batches']:,} 批",
                 f"{now['collective_persons']:,} 人次", change=False)
widgets.kpi_tile(row[3], "越级访（赴省 / 进京）",
                 f"{now['escalated_province_batches']} / {now['escalated_beijing_batches']} 批",
                 f"{now['escalated_province_persons']} / {now['escalated_beijing_persons']} 人次", change=False)
row[4].page_link("pages/rankings.py", label="县区、乡镇排名 →", query_params=widgets.link_params())
# Early warnings of today in the user's area (一单三推), on the warnings page.
from dashboard import config  # noqa: E402
from queries.warnings import day_warnings  # noqa: E402

warned = len(widgets.run_query(day_warnings, scope, filters, config.today()))
row[4].page_link("pages/warnings.py", label=f"今日预警 {warned} 条 →", icon="⚠️" if warned else None)

left, right = st.columns([3, 2])
with left:
    st.subheader("积案月度走势")
    if monthly.empty:
        st.info("所选期间没有月份数据。")
    else:
        def monthly_chart() -> alt.LayerChart:
            marked = charts.mark_partial(monthly, end)
            bars = marked.melt(["month", "partial"], ["opened", "resolved"], var_name="kind", value_name="count")
            bars["kind"] = bars["kind"].map({"opened": "新增积案", "resolved": "化解积案"})
            base = alt.Chart(bars).encode(x=alt.X("month:N", title="月份", sort=marked["month"].tolist(),
                                                  axis=alt.Axis(labelLimit=240)))
            bar_chart = base.mark_bar().encode(
                xOffset="kind:N",
                y=alt.Y("count:Q", title="新增 / 化解（件）"),
                color=alt.Color("kind:N", title=None,
                                scale=alt.Scale(domain=["新增积案", "化解积案"], range=[charts.ORANGE, charts.GREEN]),
                                legend=alt.Legend(orient="top")),
                opacity=alt.condition("datum.partial", alt.value(0.35), alt.value(1.0)),
                tooltip=[alt.Tooltip("month:N", title="月份"), alt.Tooltip("kind:N", title="类型"),
                         alt.Tooltip("count:Q", title="件数")],
            )
            line = alt.Chart(marked).mark_line(point=True, color=charts.RED).encode(
                x=alt.X("month:N", sort=marked["month"].tolist()),
                y=alt.Y("remaining:Q", title="月末未化解（件，红线）"),
                tooltip=[alt.Tooltip("month:N", title="月份"), alt.Tooltip("remaining:Q", title="月末未化解")],
            )
            return alt.layer(bar_chart, line).resolve_scale(y="independent")

        # built once per process for the same figures, shared by every viewer
        charts.show_cached(("backlog_months", charts.fingerprint(monthly), end), monthly_chart, width="stretch")
        if charts.partial_note(end):
            st.caption(charts.partial_note(end, lighter=True))
with right:
    st.subheader("三色督办（期末在办）")
    widgets.color_tiles(now["colors"])
    widgets.color_legend()
    st.page_link("pages/supervision.py", label="查看督办清单 →")

st.subheader(f"未化解积案最多的乡镇（前 {TOP_TOWNSHIPS}）")
top = towns[towns["unresolved"] > 0].head(TOP_TOWNSHIPS)
if top.empty:
    st.success("期末没有未化解积案。")
else:
    st.dataframe(
        top[["township_name", "county_name", "unresolved", "backlog_total", "backlog_resolved", "per_10k"]],
        hide_index=True,
        column_config={
            "township_name": "乡镇（街道）",
            "county_name": "县区",
            "unresolved": st.column_config.ProgressColumn(
                "未化解积案", format="%d", min_value=0, max_value=int(top["unresolved"].max())
            ),
            "backlog_total": "积案总数",
            "backlog_resolved": "已化解",
            "per_10k": st.column_config.NumberColumn("每万人未化解", format="%.2f"),
        },
        key="overview_top_townships",
    )
    widgets.download_buttons(
        top[["township_name", "county_name", "unresolved", "backlog_total", "backlog_resolved", "per_10k"]].rename(
            columns={"township_name": "乡镇（街道）", "county_name": "县区", "unresolved": "未化解积案",
                     "backlog_total": "积案总数", "backlog_resolved": "已化解", "per_10k": "每万人未化解"}),
        "未化解积案最多的乡镇", "未化解积案最多的乡镇 · " + widgets.describe_filters(scope, filters),
        key="overview_top_download")
    st.markdown("点击乡镇下钻，查看其指标、在办案件和本期全部案件：")
    links = st.columns(5)
    for i, row in enumerate(top.itertuples()):
        links[i % 5].page_link("pages/drill.py", label=f"{widgets.plain(row.township_name)} {row.unresolved} 件",
                               query_params=widgets.drill_params(row.township_code))
    st.page_link("pages/heatmap.py", label="在积案热力图中查看全部乡镇 →", query_params=widgets.link_params())

# The accountability loop: who answers for the backlog (领导接访, 纪委移送, 回访, 销号).
from queries.accountability import accountability_indicators  # noqa: E402

loop = widgets.run_query(accountability_indicators, scope, filters)
st.subheader("问责闭环")
st.markdown(
    f"领导接访完成率 **{widgets.percent(loop['reception_completion_rate'])}**（接待 {loop['reception_persons']:,} 人次）"
    f" · 五个必批阅批率 **{widgets.percent(loop['instruction_rate'])}**"
    f" · 纪委移送：典型案例 {loop['referrals']['typical']} 件、一般事项 {loop['referrals']['general']} 件、"
    f"已对账销号 {loop['referrals']['closed']} 件"
    f" · 溯源调查 {loop['traced']} 件，问责 {loop['accountability_persons']} 人"
    f" · 回访率 **{widgets.percent(loop['revisit_rate'])}**（满意率：对信访部门 "
    f"{widgets.percent(loop['satisfaction_rate_bureau'])}，对责任部门 {widgets.percent(loop['satisfaction_rate_authority'])}）"
    f" · 积案已销号 {loop['backlog_cleared']:,} 件，再次督办 {loop['backlog_reopened']} 件")
links = st.columns([2, 2, 4])
links[0].page_link("pages/receptions.py", label="领导接访与五个必批 →", query_params=widgets.link_params())
links[1].page_link("pages/referrals.py", label="纪委移送、溯源与问责 →", query_params=widgets.link_params())
