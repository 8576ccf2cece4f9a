"""积案热力图 backlog heatmap: township choropleth (offline, no base map; bands from the
data's quintiles, county outlines and names, the worst townships labelled, the selected
township outlined; fitted to the screen's width), the unresolved backlog cases of the
selected township, and the township × month matrix."""


import altair as alt
import streamlit as st

from dashboard.scope import region_in_scope
from pages import charts, ensure_navigation, maps, session, widgets
from queries.backlog import backlog_by_township, backlog_township_month, unresolved_backlog_cases
from queries.regions import counties, townships

ensure_navigation()
actor = session.require("view")

MATRIX_ROWS = 25
LABELLED = 8  # the worst townships named on the map

scope = widgets.current_scope()
filters = widgets.current_filters()

# A township given in the link is checked before anything is drawn: a refusal shows alone.
linked = st.query_params.get("township")
if linked and "heatmap_township" not in st.session_state:
    with widgets.engine().connect() as conn:
        if not region_in_scope(conn, scope, linked):  # the scope is the user's, not the link's
            session.refuse(widgets.OUT_OF_SCOPE, target=f"链接乡镇 {linked}")

st.title("积案热力图")
st.caption(widgets.describe_filters(scope, filters) + " · 颜色为期末未化解积案件数")

backlog = widgets.run_query(backlog_by_township, scope, filters)
shapes = widgets.run_query(townships, scope, filters, True)


county_shapes = widgets.run_query(counties, scope, filters, True)
with_shapes = shapes[shapes["code"].isin(backlog["township_code"])]
selected_from_map = None
if backlog.empty or with_shapes["boundary"].isna().all():
    st.info("所选范围内没有带边界的乡镇，无法绘制地图。请先导入乡镇边界。")
    chart_slot = None
else:
    chart_slot = st.container()
    # The map is drawn below, once the selection is known (it outlines the selected township).
# A township picked on the map (or given in the link) becomes the selector's value. The
# map's click is read from its state (the map is drawn further down, outlining the choice).
picked = ((st.session_state.get("backlog_map") or {}).get("selection") or {}).get("pick") or []
selected_from_map = picked[0].get("township_code") if picked else None
options = backlog["township_code"].tolist()
names = dict(zip(backlog["township_code"], backlog["township_name"] + "（" + backlog["county_name"] + "）",
                 strict=True))
if selected_from_map and selected_from_map != st.session_state.get("heatmap_last_map_pick"):
    st.session_state["heatmap_last_map_pick"] = selected_from_map
    if selected_from_map in options:
        st.session_state["heatmap_township"] = selected_from_map
elif "heatmap_township" not in st.session_state and st.query_params.get("township"):
    linked = st.query_params["township"]
    with widgets.engine().connect() as conn:
        if not region_in_scope(conn, scope, linked):  # the scope is the user's, not the link's
            session.refuse(widgets.OUT_OF_SCOPE, target=f"链接乡镇 {linked}")
    if linked in options:
        st.session_state["heatmap_township"] = linked
if options and st.session_state.get("heatmap_township") not in options:
    st.session_state["heatmap_township"] = options[0]

if chart_slot is not None:
    with chart_slot:
        maps.show_backlog_map(with_shapes, county_shapes, backlog, height=520, labels=LABELLED,
                              selected=st.session_state.get("heatmap_township"), pickable=True,
                              width="stretch", on_select="rerun", selection_mode="pick", key="backlog_map")
        maps.backlog_legend(maps.backlog_breaks(backlog["unresolved"]))
        st.caption(f"粗线为县区界；标注未化解积案最多的 {LABELLED} 个乡镇及件数；黑色粗框为所选乡镇。"
                   "点击地图上的乡镇可在下方列出其案件。")

st.subheader("乡镇未化解积案")
if not options:
    st.info("所选范围内没有乡镇。")
else:
    # looked up once, not re-indexed for each option (each viewer's rerun labels every township)
    unresolved = {code: int(n) for code, n in zip(backlog["township_code"], backlog["unresolved"], strict=True)}
    township = st.selectbox(
        "选择乡镇（也可在地图上点击）",
        options,
        format_func=lambda code: f"{names[code]} · 未化解 {unresolved[code]} 件",
        key="heatmap_township",
    )
    st.query_params["township"] = township
    cases = widgets.run_query(unresolved_backlog_cases, scope, filters, township)
    widgets.case_table(cases, key="heatmap_cases", level="township")
    if not cases.empty:
        widgets.download_buttons_for(lambda: widgets.localize_cases(cases), f"未化解积案_{township}",
                                     f"{names[township]} 未化解积案 · {widgets.describe_filters(scope, filters)}",
                                     key="heatmap_download")

st.subheader("乡镇 × 月份 未化解积案")
matrix = widgets.run_query(backlog_township_month, scope, filters)
if matrix.empty:
    st.info("所选期间没有数据。")
else:
    show_all = st.toggle(f"显示全部乡镇（默认显示未化解最多的 {MATRIX_ROWS} 个）", key="heatmap_all")
    order = backlog["township_name"].tolist()
    if not show_all:
        order = order[:MATRIX_ROWS]
        matrix = matrix[matrix["township_name"].isin(order)]

    def matrix_chart(matrix=matrix, order=order) -> alt.Chart:
        return (
            alt.Chart(matrix)
            .mark_rect()
            .encode(
                x=alt.X("month:O", title="月份"),
                y=alt.Y("township_name:N", title=None, sort=order,
                        axis=alt.Axis(labelOverlap=False, labelFontSize=11, labelLimit=140)),
                color=alt.Color("unresolved:Q", title="未化解（件）", scale=alt.Scale(scheme="reds")),
                tooltip=[
                    alt.Tooltip("township_name:N", title="乡镇"),
                    alt.Tooltip("month:O", title="月份"),
                    alt.Tooltip("unresolved:Q", title="月末未化解"),
                ],
            )
            .properties(height=alt.Step(18))
        )

    # built once per process for the same figures, shared by every viewer
    charts.show_cached(("township_months", charts.fingerprint(matrix), tuple(order)), matrix_chart, width="stretch")
