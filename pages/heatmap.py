"""积案热力图 backlog heatmap: township choropleth (offline, no base map), township ×
month matrix, and the unresolved backlog cases of a selected township."""


import altair as alt
import pydeck as pdk
import streamlit as st

from dashboard.scope import region_in_scope
from pages import ensure_navigation, session, widgets
from queries.backlog import backlog_by_township, backlog_township_month, unresolved_backlog_cases
from queries.regions import townships

ensure_navigation()
actor = session.require("view")

LAYER_ID = "townships"
MATRIX_ROWS = 25

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


with_shapes = shapes[shapes["code"].isin(backlog["township_code"])]
if backlog.empty or with_shapes["boundary"].isna().all():
    st.info("所选范围内没有带边界的乡镇，无法绘制地图。请先导入乡镇边界。")
    selected_from_map = None
else:
    breaks = widgets.backlog_breaks(int(backlog["unresolved"].max()))
    records = [{**record, **{k: int(record[k]) for k in ("unresolved", "backlog_total", "backlog_resolved")}}
               for record in backlog[["township_code", "township_name", "county_name", "unresolved",
                                      "backlog_total", "backlog_resolved"]].to_dict("records")]
    polygons = widgets.backlog_polygons(with_shapes, records, "township_code", "unresolved", breaks)
    layer = pdk.Layer(
        "PolygonLayer",
        polygons,
        id=LAYER_ID,
        get_polygon="polygon",
        get_fill_color="fill",
        get_line_color=[90, 90, 90, 200],
        line_width_min_pixels=1,
        stroked=True,
        filled=True,
        pickable=True,
        auto_highlight=True,
    )
    deck = pdk.Deck(
        layers=[layer],
        initial_view_state=widgets.map_view(polygons, 800, 520),
        map_provider=None,  # no base map (and no map_style: Streamlit then adds none): works offline
        tooltip={
            # "text", not "html": region names come from imported files
            "text": "{township_name}（{county_name}）\n未化解积案 {unresolved} 件\n"
            "积案总数 {backlog_total} 件，已化解 {backlog_resolved} 件",
            "style": {"fontSize": "13px"},
        },
    )
    event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", height=520,
                            key="backlog_map")
    widgets.backlog_legend(breaks)
    picked = (event.selection or {}).get("objects", {}).get(LAYER_ID) if event else None
    selected_from_map = picked[0]["township_code"] if picked else None

# A township picked on the map (or given in the link) becomes the selector's value.
options = backlog["township_code"].tolist()
names = dict(zip(backlog["township_code"], backlog["township_name"] + "（" + backlog["county_name"] + "）",
                 strict=True))
if selected_from_map and selected_from_map != st.session_state.get("heatmap_last_map_pick"):
    st.session_state["heatmap_last_map_pick"] = selected_from_map
    st.session_state["heatmap_township"] = selected_from_map
elif linked and "heatmap_township" not in st.session_state and linked in options:
    st.session_state["heatmap_township"] = linked

st.subheader("乡镇未化解积案")
if not options:
    st.info("所选范围内没有乡镇。")
else:
    if st.session_state.get("heatmap_township") not in options:
        st.session_state["heatmap_township"] = options[0]
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
    widgets.case_table(cases, key="heatmap_cases")
    if not cases.empty:
        widgets.download_buttons(widgets.localize_cases(cases), f"未化解积案_{township}",
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
    chart = (
        alt.Chart(matrix)
        .mark_rect()
        .encode(
            x=alt.X("month:O", title="月份"),
            y=alt.Y("township_name:N", title=None, sort=order),
            color=alt.Color("unresolved:Q", title="未化解（件）", scale=alt.Scale(scheme="reds")),
            tooltip=[
                alt.Tooltip("township_name:N", title="乡镇"),
                alt.Tooltip("month:O", title="月份"),
                alt.Tooltip("unresolved:Q", title="月末未化解"),
            ],
        )
        .properties(height=max(200, 18 * len(order)))
    )
    st.altair_chart(chart, width="stretch")
