"""随机抽查 spot check: draw unresolved backlog cases fairly, keep every draw, reopen it."""

import streamlit as st

from dashboard import config
from dashboard.draws import ALGORITHM_VERSION, DrawError, record_draw
from pages import widgets
from queries.spot_check import draw_candidates, draw_history, drawn_cases

METHODS = {"simple": "简单随机", "per_county": "每县区至少一件"}

scope = widgets.current_scope()
filters = widgets.current_filters()
today = config.today()

st.title("随机抽查")
st.caption(
    "从未化解积案中随机抽取，由包案领导在督查会上汇报。统计期间不影响候选范围；"
    "县区、乡镇、问题类别、信访形式筛选有效。"
)

with widgets.engine().connect() as conn:
    candidates = draw_candidates(conn, scope, filters, today)
st.markdown(f"当前候选：**{len(candidates):,}** 件未化解积案（{widgets.describe_filters(scope, filters).split(' · ', 1)[-1]}）")

with st.form("draw_form"):
    left, middle, right = st.columns(3)
    n = left.number_input("抽取件数", min_value=1, max_value=100, value=5, step=1, key="draw_n")
    per_county = middle.checkbox("每个县区至少抽一件", key="draw_per_county")
    seed = right.text_input("随机种子（可不填，自动生成）", key="draw_seed", max_chars=64,
                            help="同一种子、同一候选清单，抽取结果完全相同，可事后复核。")
    left, right = st.columns(2)
    drawn_by = left.text_input("抽取人", value="市委督查室", key="draw_by", max_chars=50)
    meeting = right.text_input("会议名称", value=f"{today:%Y年%m月}视频抽查会", key="draw_meeting",
                               max_chars=100)
    submitted = st.form_submit_button("抽取", type="primary")

if submitted:
    if not drawn_by.strip():
        st.error("请填写抽取人后再抽取。")
    else:
        try:
            with widgets.engine().begin() as conn:
                draw_id, used_seed, _ = record_draw(
                    conn, candidates, int(n), seed=seed, per_county=per_county,
                    created_by=drawn_by.strip(), scope_code=scope.region_code,
                    meeting=meeting.strip() or None,
                    params={
                        "region": scope.region_code,
                        "county": filters.county_code,
                        "township": filters.township_code,
                        "domains": list(filters.domains),
                        "channels": list(filters.channels),
                        "per_county": per_county,
                        "as_of": today.isoformat(),
                    },
                )
        except DrawError as error:
            st.error(str(error))
        else:
            st.session_state["opened_draw"] = draw_id
            st.query_params["draw"] = str(draw_id)
            st.success(f"已抽取并保存为抽查记录 #{draw_id}，随机种子 {used_seed}。")

with widgets.engine().connect() as conn:
    history = draw_history(conn, scope)

st.subheader("抽查记录")
if history.empty:
    st.info("还没有抽查记录。")
else:
    ids = history["draw_id"].tolist()
    linked = st.query_params.get("draw")
    if "opened_draw" not in st.session_state and linked and linked.isdigit() and int(linked) in ids:
        st.session_state["opened_draw"] = int(linked)
    if st.session_state.get("opened_draw") not in ids:
        st.session_state["opened_draw"] = ids[0]
    labels = {
        row.draw_id: f"#{row.draw_id} · {row.created_at:%Y-%m-%d %H:%M} · {row.meeting or '—'} · "
        f"{row.created_by} · {row.n_drawn} 件"
        for row in history.itertuples()
    }
    opened = st.selectbox("打开记录", ids, format_func=labels.get, key="opened_draw")
    st.query_params["draw"] = str(opened)
    record = history.set_index("draw_id").loc[opened]
    with widgets.engine().connect() as conn:
        cases = drawn_cases(conn, scope, int(opened), today)
    cols = st.columns(4)
    cols[0].metric("随机种子", record["seed"])
    cols[1].metric("方式", METHODS.get(record["method"], record["method"]))
    cols[2].metric("候选件数", f"{record['candidate_count']:,}")
    cols[3].metric("抽中件数", f"{len(cases)}")
    st.caption(
        f"候选清单指纹（SHA-256）：`{record['candidate_fingerprint']}` · 算法 {record['algorithm_version']}"
        + ("" if record["algorithm_version"] == ALGORITHM_VERSION else "（旧版算法）")
    )
    widgets.case_table(cases, key="drawn_cases")
    if not cases.empty:
        widgets.download_buttons(
            widgets.localize_cases(cases), f"抽查记录_{opened}",
            f"抽查记录 #{opened} · {record['meeting'] or ''} · 种子 {record['seed']}",
            key="draw_download",
        )
    with st.expander("全部记录"):
        table = history.drop(columns=["params", "candidate_fingerprint"]).copy()
        table["method"] = table["method"].map(lambda m: METHODS.get(m, m))
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "draw_id": "编号", "created_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
                "created_by": "抽取人", "meeting": "会议", "method": "方式", "seed": "随机种子",
                "n_requested": "请求件数", "candidate_count": "候选件数", "algorithm_version": "算法",
                "n_drawn": "抽中件数",
            },
            key="draw_history_table",
        )
