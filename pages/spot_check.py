"""随机抽查 spot check: prepare a supervision meeting (commit a seed), draw unresolved
backlog cases fairly, keep and verify every draw, export the agenda, record outcomes."""

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.agenda import agenda_excel, agenda_html, agenda_titles
from dashboard.draws import (
    METHODS,
    REDRAW_MARK,
    WEIGHT_BY,
    DrawError,
    DrawSpec,
    chain_status,
    verify_draw,
)
from dashboard.labels import BACKLOG_SOURCES, COLORS
from dashboard.meetings import RATINGS, draw_time, time_left
from pages import ensure_navigation, presentation, session, widgets
from queries.meetings import agenda, meeting_list, notify_list, outcomes
from queries.spot_check import (
    CandidateOptions,
    candidate_frame,
    draw_history,
    draw_params,
    drawn_cases,
)

ensure_navigation()
actor = session.require("draw")

DRAW_METHODS = ("simple", "stratified", "weighted")
NO_MEETING = 0
NO_REPLACE = 0
SECRET_KEY = "meeting_secret"  # kept in this browser session only, never in the database

scope = widgets.current_scope()
filters = widgets.current_filters()
today = config.today()
now = dt.datetime.combine(today, dt.datetime.now().time()).replace(microsecond=0)

st.title("随机抽查")
st.caption(
    "从未化解积案中随机抽取，由包案领导在督查会上汇报。统计期间不影响候选范围；"
    "县区、乡镇、问题类别、信访形式筛选有效。"
)
notice = st.empty()  # always present, so the tabs below keep their place (and state)
if "spot_notice" in st.session_state:
    notice.success(widgets.plain(st.session_state.pop("spot_notice")))
secret_box = st.container()  # the new meeting's secret, until its officer has taken it down
if SECRET_KEY in st.session_state:
    made = st.session_state[SECRET_KEY]
    with secret_box:
        st.warning(
            f"**督查会 #{made.meeting_id} 的种子口令（只显示给您这一次）**：请抄写或打印后由您本人保管，"
            "不要存入本系统，也不要通过邮件、聊天工具传送。抽取时须输入此口令，系统核对它与会前公布的承诺值一致后才抽取。"
            "系统只保存承诺值，任何人（包括数据库管理员）都无法从系统查到口令，会前无法预知抽中哪些案件；"
            "口令遗失则本会无法抽取，只能另建督查会。"
            + (f"抽取时还须填写会上公布的公开值：{widgets.plain(made.public_value_rule)}。"
               if made.public_value_rule else "")
        )
        st.code(made.secret, language=None)
        if st.button("我已抄写并保管好口令，关闭", key="secret_done"):
            st.session_state.pop(SECRET_KEY, None)
            st.rerun()

with widgets.engine().connect() as conn:
    meeting_frame = meeting_list(conn, scope)
    history = draw_history(conn, scope)
meetings_by_id = meeting_frame.set_index("meeting_id")
meeting_titles = {NO_MEETING: "不关联督查会"} | {
    int(r.meeting_id): f"#{r.meeting_id} {r.scheduled_at:%Y-%m-%d %H:%M} {r.title}" for r in meeting_frame.itertuples()
}
# A redraw names the draw it replaces; a replaced draw is kept but cannot be replaced again.
replaced_by = {int(r): int(d) for d, r in zip(history["draw_id"], history["replaces_draw_id"], strict=True)
               if pd.notna(r)}
current_draws = history[~history["draw_id"].isin(replaced_by)]

presenting = st.session_state.get(presentation.PRESENT_KEY)
if presenting is not None and presenting in set(history["draw_id"]):
    shown_record = history.set_index("draw_id").loc[presenting]
    with widgets.engine().connect() as conn:
        shown_cases = drawn_cases(conn, scope, int(presenting), today)
    shown_meeting = (meetings_by_id.loc[int(shown_record["meeting_id"])].to_dict()
                     if pd.notna(shown_record["meeting_id"]) and int(shown_record["meeting_id"]) in meetings_by_id.index
                     else None)
    presentation.show(shown_cases, record=shown_record, meeting_info=shown_meeting,
                      verified=st.session_state.get(f"verified_{presenting}"), now=now)

prepare_tab, draw_tab, record_tab, outcome_tab = st.tabs(
    ["① 会前准备", "② 抽取", "③ 抽查记录与核验", "④ 会后记录"], key="spot_tabs"
)

# ---------------------------------------------------------------- ① meeting
with prepare_tab:
    st.markdown("建会后系统给出一个**只显示一次的种子口令**：请组织人抄下保管，抽取时输入。"
                "这样会前谁也不能预知、会后谁也不能挑选抽中的案件。台州做法：会前 4 小时抽取。")
    with st.expander("为什么这样能保证公平"):
        st.markdown(
            "建会时系统生成随机的**种子口令**，只显示给组织人一次，由其本人保管；系统只保存并公布口令的 SHA-256 "
            "承诺值（随会议通知下发）。抽取时组织人输入口令，系统核对与承诺值一致后才抽取，任何人都可事后核对，"
            "证明抽取不是事后挑选；数据库中没有口令，会前读数据库的人也无法预知抽中哪些案件。"
            "还可约定一个会上才公布的公开值（如抽取当日的福彩3D开奖号码、会上当场掷骰的数字），与口令合成抽取种子，"
            "这样连组织人会前也无法预知结果。台州做法：会前 4 小时抽取。"
        )
    with st.form("meeting_form"):
        left, middle, right = st.columns([3, 2, 2])
        title = left.text_input("会议名称", value=f"{today:%Y年%m月}视频抽查会", key="meeting_title", max_chars=100)
        day = middle.date_input("会议日期", value=today, key="meeting_day", format="YYYY-MM-DD")
        at = right.time_input("会议时间", value=dt.time(14, 30), key="meeting_time", step=dt.timedelta(minutes=15))
        rule = st.text_input(
            "会上公布的公开值（可选）", key="meeting_public_rule", max_chars=100,
            placeholder="例如：抽取当日福彩3D开奖号码；不填则只用种子口令",
            help="填写后，抽取时须输入按此说明在会上（或抽取时）公布的数值，与种子口令一起决定抽取结果。")
        st.caption(f"组织人记为当前用户：{widgets.plain(actor.label)}；种子口令只显示给您。")
        if st.form_submit_button("新建督查会"):
            when = dt.datetime.combine(day, at)
            if when <= now:
                st.error(f"会议时间 {when:%Y-%m-%d %H:%M} 已经过去（现在是 {now:%Y-%m-%d %H:%M}），未建会。"
                         "请把会议日期和时间改为将来的时间后再点“新建督查会”；抽取应在开会前（建议会前 4 小时）进行。")
            else:
                try:
                    made = widgets.run_action(
                        actions.create_meeting, title=title, scheduled_at=dt.datetime.combine(day, at),
                        region_code=scope.region_code, public_value_rule=rule)
                except DrawError as error:
                    st.error(widgets.plain(error))
                else:
                    st.session_state["spot_notice"] = (f"已建督查会 #{made.meeting_id}。"
                                                       f"种子承诺值（SHA-256）：{made.commitment}")
                    st.session_state[SECRET_KEY] = made
                    st.session_state["draw_meeting_id"] = made.meeting_id
                    st.rerun()
    if meeting_frame.empty:
        st.info("还没有督查会。")
    else:
        meeting_table = pd.DataFrame({
            "编号": meeting_frame["meeting_id"],
            "会议": meeting_frame["title"],
            "时间": meeting_frame["scheduled_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "距开会": meeting_frame["scheduled_at"].map(lambda when: time_left(when, now)),
            "建议抽取时间": meeting_frame["scheduled_at"].map(draw_time).dt.strftime("%m-%d %H:%M"),
            "种子承诺值（SHA-256）": meeting_frame["seed_commitment"].fillna("（未承诺）"),
            "会上公布的公开值": meeting_frame["public_value_rule"].fillna("—"),
            "种子已揭晓": meeting_frame["revealed_at"].notna().map({True: "是", False: "否"}),
            "抽取次数": meeting_frame["n_draws"],
        })
        st.dataframe(meeting_table, hide_index=True, key="meeting_table")
        widgets.download_buttons(meeting_table, "督查会", f"督查会 · {scope.name} · {today:%Y-%m-%d}",
                                 key="meeting_download")

# ---------------------------------------------------------------- ② draw
with draw_tab:
    left, right = st.columns(2)
    meeting_id = left.selectbox("督查会", list(meeting_titles), format_func=meeting_titles.get, key="draw_meeting_id")
    meeting = meetings_by_id.loc[meeting_id] if meeting_id != NO_MEETING else None
    committed = meeting is not None and isinstance(meeting["seed_commitment"], str)
    same_meeting = (current_draws["meeting_id"] == meeting_id if meeting is not None
                    else current_draws["meeting_id"].isna())
    heads = current_draws.loc[same_meeting, "draw_id"].astype(int).tolist()
    # A committed meeting has one current draw: once drawn, a new draw must replace it.
    replace_options = heads[:1] if committed and heads else [NO_REPLACE, *heads]
    replaces = right.selectbox(  # a new set of choices starts from its first one
        "重新抽取（替换当前记录）", replace_options, key="draw_replaces_" + "_".join(map(str, replace_options)),
        format_func=lambda i: "不替换（新抽取）" if i == NO_REPLACE else f"替换抽查记录 #{i}",
        help="只列出本会（或不关联督查会时，未关联会议的）尚未被替换的记录；被替换的记录保留备查。",
    )
    if meeting is not None:
        at = meeting["scheduled_at"]
        st.info(f"会议时间 {at:%Y-%m-%d %H:%M}，距开会 {time_left(at, now)}；"
                f"建议抽取时间 {draw_time(at):%m-%d %H:%M}（会前 4 小时）。")
        if committed:
            st.caption(
                f"本会已在会前承诺随机种子（承诺值 `{meeting['seed_commitment']}`）："
                + (f"本次为重新抽取，沿用本会已揭晓的种子，种子为“原种子{REDRAW_MARK}序号”，同样可对照承诺值核验，无需再输入口令。"
                   if replaces != NO_REPLACE
                   else "本会已抽取过，再次抽取必须替换当前记录并写明理由。" if heads
                   else "请输入建会时显示给组织人的种子口令，系统核对与承诺值一致后抽取；会上只抽取一次，重新抽取须写明理由。")
            )
        else:
            st.error(f"督查会 #{meeting_id} 没有会前承诺值，不能抽取。请另建督查会。")
    else:
        st.caption("不关联督查会的抽取由系统生成 128 位随机种子，不能手工输入种子。")

    left, middle, right, far = st.columns(4)
    colors = left.multiselect("督办颜色", list(COLORS), format_func=COLORS.get, key="draw_colors", placeholder="全部颜色")
    sources = middle.multiselect("积案来源", list(BACKLOG_SOURCES), format_func=BACKLOG_SOURCES.get,
                                 key="draw_sources", placeholder="全部来源")
    min_days = right.number_input("最少已历时（天）", 0, 3650, 0, step=30, key="draw_min_days")
    exclude_last = far.number_input(
        "排除最近几次会议已抽过的案件", 0, 24, 0, key="draw_exclude_last",
        help="按督查会计次：同一督查会的多次抽取算一次，不关联督查会的抽取每次各算一次；被替换的记录不算。")
    options = CandidateOptions(tuple(colors), tuple(sources), int(min_days), int(exclude_last),
                               meeting_id=None if meeting is None else int(meeting_id),
                               replaces_draw_id=None if replaces == NO_REPLACE else int(replaces))
    with widgets.engine().connect() as conn:
        pool = candidate_frame(conn, scope, filters, today, options)
    st.markdown(f"当前候选：**{len(pool):,}** 件未化解积案（{widgets.describe_filters(scope, filters).split(' · ', 1)[-1]}）")

    left, middle, right = st.columns(3)
    method = left.radio("抽取方式", DRAW_METHODS, format_func=METHODS.get, key="draw_method", horizontal=True)
    k = middle.number_input("每个县区至少抽取（件）", 0, 20, 1, key="draw_k", disabled=method != "stratified",
                            help="件数不够每县区保底时，按随机顺序轮流分配，各县区相差不超过 1 件；"
                            "其余名额按各县区候选件数比例分配。")
    weight_by = right.radio("加权依据", list(WEIGHT_BY), format_func=WEIGHT_BY.get, key="draw_weight_by",
                            disabled=method != "weighted")
    if method == "weighted" and not pool.empty:
        weights = pool[f"weight_{weight_by}"]
        share = weights.groupby(weights).agg(["size", "sum"]).rename_axis("权重").reset_index()
        share["每件被抽中的相对机会"] = share["权重"].map(lambda w: f"{w:g} 倍")
        share = share.rename(columns={"size": "候选件数", "sum": "权重合计"})
        st.caption("各候选件的权重（权重为 2 的案件被抽中的机会是权重为 1 的两倍）：")
        st.dataframe(share, hide_index=True, key="draw_weights")

    with st.form("draw_form"):
        left, right = st.columns(2)
        n = left.number_input("抽取件数", min_value=1, max_value=100, value=5, step=1, key="draw_n")
        first_of_meeting = committed and replaces == NO_REPLACE
        secret = right.text_input(
            "种子口令", key="draw_secret", type="password", max_chars=64,
            placeholder="建会时显示的 32 位十六进制数字",
            help="由组织人输入；大小写、空格和连字符不影响。") if first_of_meeting else None
        rule = meeting["public_value_rule"] if meeting is not None else None
        public_value = st.text_input(
            f"会上公布的公开值（{widgets.plain(rule)}）", key="draw_public_value", max_chars=64,
            help="按建会时的约定填写；空格不计。") if first_of_meeting and isinstance(rule, str) and rule else None
        reason = "" if replaces == NO_REPLACE else st.text_input(
            "重新抽取的理由", key="draw_reason", max_chars=200, placeholder="例如：候选清单遗漏了某县区案件")
        submitted = st.form_submit_button("抽取", type="primary")

    if submitted:
        try:
            spec = DrawSpec(n=int(n), method=method, min_per_county=int(k),
                            weight_by=weight_by if method == "weighted" else None)
            outcome = widgets.run_action(
                actions.draw, pool, spec=spec, region_code=scope.region_code,
                meeting_id=None if meeting is None else int(meeting_id), secret=secret, public_value=public_value,
                replaces_draw_id=None if replaces == NO_REPLACE else int(replaces), redraw_reason=reason,
                params=draw_params(scope, filters, options, today),
            )
        except DrawError as error:
            st.error(widgets.plain(error))
        else:
            # Rerun so that every tab (the redraw choices too) shows the new record.
            draw_id, used_seed = outcome.draw_id, outcome.seed
            st.session_state["opened_draw"] = draw_id
            st.query_params["draw"] = str(draw_id)
            st.session_state["draw_done"] = (
                f"已抽取并保存为抽查记录 #{draw_id}（随机种子 {used_seed}）。抽中的案件列在下面；"
                "议程下载、核验和会前通知见“③ 抽查记录与核验”。",
                outcome.notes,
            )
            st.rerun()
    if "draw_done" in st.session_state:  # below the form, so that nothing above it moves
        done, notes = st.session_state.pop("draw_done")
        st.success(done)
        for note in notes:
            st.warning(widgets.plain(note))
        just_drawn = st.session_state.get("opened_draw")
        if just_drawn is not None:
            with widgets.engine().connect() as conn:
                fresh = drawn_cases(conn, scope, int(just_drawn), today)
            st.markdown(f"**抽中的 {len(fresh)} 件案件**（按抽中顺序）")
            widgets.case_table(fresh, key="just_drawn_cases")

# ---------------------------------------------------------------- ③ record
opened = None
with record_tab:
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
            f"{row.created_by} · {row.n_drawn} 件" + ("（已被替换）" if row.draw_id in replaced_by else "")
            for row in history.itertuples()
        }
        opened = st.selectbox("打开记录", ids, format_func=labels.get, key="opened_draw")
        st.query_params["draw"] = str(opened)
        record = history.set_index("draw_id").loc[opened]
        with widgets.engine().connect() as conn:
            cases = drawn_cases(conn, scope, int(opened), today)
            notify = notify_list(conn, scope, int(opened), today)
            agenda_frame = agenda(conn, scope, int(opened), today)
        meeting_info = (meetings_by_id.loc[int(record["meeting_id"])].to_dict() | {"meeting_id": int(record["meeting_id"])}
                        if pd.notna(record["meeting_id"]) and int(record["meeting_id"]) in meetings_by_id.index else None)
        # Plain results first: what was drawn, from how many, by whom, and whether it checks out.
        st.markdown(
            f"**抽查记录 #{opened}**：{record['created_at']:%Y-%m-%d %H:%M} 由 {widgets.plain(record['created_by'])} "
            f"从 **{record['candidate_count']:,}** 件未化解积案中{METHODS.get(record['method'], record['method'])}"
            f"抽中 **{len(cases)}** 件"
            + (f"，用于督查会 #{meeting_info['meeting_id']}（{widgets.plain(meeting_info['title'])}）" if meeting_info else "")
            + "。")
        if pd.notna(record["replaces_draw_id"]):
            st.warning(f"本记录替换了抽查记录 #{int(record['replaces_draw_id'])}，理由：{widgets.plain(record['redraw_reason'])}")
        if opened in replaced_by:
            st.warning(f"本记录已被抽查记录 #{replaced_by[opened]} 替换（原记录保留备查）。")
        if not cases.empty and st.button("投屏模式（视频会议上逐件显示）", key="present_start", type="primary",
                                         icon=":material/present_to_all:"):
            presentation.start(int(opened))
            st.rerun()
        widgets.case_table(cases, key="drawn_cases")
        verify_slot = st.container()
        with st.expander("技术细节：随机种子、承诺值、候选清单指纹、存证链（供核查，一般不必看）"):
            st.markdown(
                "- **随机种子**：决定抽中哪些案件的一串字符。种子和候选清单相同，任何人用本系统或命令行重算，"
                "抽中的案件都相同——所以抽取结果不能被人为挑选。\n"
                "- **种子承诺值**：建督查会时随会议通知公布的一串字符，由只有组织人知道的种子口令算出。"
                "抽取时系统核对口令与承诺值相符，证明口令在会前就已定下、事后没有更换。\n"
                "- **候选清单指纹**：抽取时全部候选案件编号算出的一串字符。候选清单多一件、少一件或改一件，指纹都会不同，"
                "可证明没有事后增删候选案件。\n"
                "- **存证链**：每一条抽查记录、会后记录都把前一条的摘要写进自己的摘要，像骑缝章一样连成一串；"
                "中间任何一条被改动或删除，后面的都对不上。把条数和最新摘要记入会议纪要，日后可核对记录是否被改过。")
            cols = st.columns([3, 1, 1, 1])
            cols[0].metric("随机种子", record["seed"], help="督查会的抽取：种子开头的种子口令（39 个字符）的 SHA-256 即会前公布的承诺值；"
                           "“+”后为会上公布的公开值，“/重抽k”为第 k 次重新抽取")
            cols[1].metric("方式", METHODS.get(record["method"], record["method"]))
            cols[2].metric("候选件数", f"{record['candidate_count']:,}")
            cols[3].metric("抽中件数", f"{len(cases)}")
            st.caption(
                f"随机种子：`{record['seed']}` · "
                f"候选清单指纹（SHA-256）：`{record['candidate_fingerprint']}` · 算法 {record['algorithm_version']}"
            )
            if meeting_info is not None:
                st.caption(f"督查会 #{meeting_info['meeting_id']}：会前承诺值 `{meeting_info['seed_commitment']}`"
                           + (f"；会上公布的公开值：{widgets.plain(meeting_info['public_value_rule'])}"
                              if isinstance(meeting_info["public_value_rule"], str) else ""))
            else:
                st.caption("本记录不属于督查会：种子由系统在抽取时生成，没有会前承诺。")
            left, right = st.columns([1, 3])
            expect_length = left.number_input(
                "纪要中记下的存证链条数", 0, 10_000_000, 0, key="verify_expect_length",
                help="可不填（0）。与右边的摘要一起核对：存证链在记入纪要之后是否被改写。")
            expect_head = right.text_input(
                "纪要中记下的最新摘要（可选）", key="verify_expect_head", max_chars=80,
                placeholder="64 位十六进制数字，见会议纪要或打印版议程")
            result = st.session_state.get(f"verified_{opened}")
            if result is not None:
                for check in result.checks:
                    # Material icons ship with Streamlit (no emoji font needed, works offline).
                    st.markdown((":green-badge[:material/check: 通过] " if check["ok"]
                                 else ":red-badge[:material/close: 未通过] ") + widgets.plain(check["detail"]))
                chain = result.chain
                st.caption(f"存证链：共 {chain['length']} 条记录（抽查 {chain['draws']}、会后记录 {chain['outcomes']}、"
                           f"跟进 {chain['follow_ups']}），本记录为第 {chain['position']} 条；最新摘要 "
                           f"`{chain['head_digest']}`。请将条数和最新摘要记入会议纪要——摘要链本身无法发现最新的记录被删除"
                           "或整条链被重新计算；日后在上面填入纪要中的条数和摘要再核验，即可发现。")
        with verify_slot:
            if st.button("核验本次抽取", key="verify_draw",
                         help="按种子和候选清单重算一遍，并核对记录没有被改动。"):
                with widgets.engine().connect() as conn:
                    st.session_state[f"verified_{opened}"] = verify_draw(
                        conn, int(opened), expect_head=expect_head.strip() or None,
                        expect_length=int(expect_length) or None if expect_head.strip() else None)
                st.rerun()
            result = st.session_state.get(f"verified_{opened}")  # kept across reruns (e.g. downloads)
            if result is not None:
                (st.success if result.ok else st.error)(
                    "核验通过：按种子和候选清单重算，抽中的案件与记录一致，记录未被改动（逐项结果见下方“技术细节”）。"
                    if result.ok else "核验未通过：记录与重算结果不一致，或记录被改动，请立即核查（见下方“技术细节”）。")
        if not cases.empty:
            widgets.download_buttons(
                widgets.localize_cases(cases), f"抽查记录_{opened}",
                f"抽查记录 #{opened} · {record['meeting'] or ''} · 种子 {record['seed']}",
                key="draw_download",
            )
            draw_engine, n_cases = widgets.engine(), len(cases)

            def titles(draw_id=int(opened), record=record, meeting_info=meeting_info):
                """Built when the agenda is downloaded: the chain's head at that moment."""
                with draw_engine.connect() as conn:
                    status = chain_status(conn)
                position = None if pd.isna(record["chain_seq"]) else int(record["chain_seq"])
                return agenda_titles(draw_id, record["meeting"], record["seed"], n_cases, today,
                                     meeting_info=meeting_info, chain={**status, "position": position})

            left, right, _ = st.columns([1, 1, 3])
            widgets.export_button(left, "下载议程 Excel", lambda: agenda_excel(agenda_frame, *titles()),
                                  file_name=f"议程_{opened}.xlsx", key="agenda_xlsx", what=f"议程 #{opened}",
                                  mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            widgets.export_button(right, "下载打印版议程",
                                  lambda: agenda_html(agenda_frame, *titles()).encode("utf-8"),
                                  file_name=f"议程_{opened}.html", mime="text/html", key="agenda_html",
                                  what=f"打印版议程 #{opened}")
            st.caption("议程上印有督查会的承诺值、随机种子和打印时存证链的条数与最新摘要，可作为纪要附件留存。")
            st.markdown("**会前通知**（包案领导及所在县区）")
            notify_table = notify.rename(columns={"county_name": "县区", "leader_name": "包案领导",
                                                  "leader_title": "职务", "cases": "抽中案件"})
            event = st.dataframe(notify_table, hide_index=True, key="notify_table", on_select="rerun",
                                 selection_mode="single-row")
            st.caption("勾选行首方框可打开该领导所包案件的详情。")
            widgets.download_buttons(notify_table, f"会前通知_{opened}",
                                     f"会前通知 · 抽查记录 #{opened} · {record['meeting'] or ''}", key="notify_download")
            if event.selection.rows:
                numbers = notify.iloc[event.selection.rows[0]]["cases"].split("、")
                if len(numbers) == 1:
                    widgets.open_case(numbers[0])
                for column, number in zip(st.columns(min(len(numbers), 6)), numbers, strict=False):
                    if column.button(f"打开 {number}", key=f"notify_open_{number}"):
                        widgets.open_case(number)
        with st.expander("全部记录"):
            table = history.drop(columns=["params", "candidate_fingerprint"]).copy()
            table["method"] = table["method"].map(lambda m: METHODS.get(m, m))
            table["replaced_by"] = table["draw_id"].map(replaced_by)
            headers = {
                "draw_id": "编号", "created_at": "时间", "created_by": "抽取人", "meeting": "会议", "method": "方式",
                "seed": "随机种子", "n_requested": "请求件数", "candidate_count": "候选件数",
                "algorithm_version": "算法", "n_drawn": "抽中件数", "meeting_id": "督查会",
                "replaces_draw_id": "替换记录", "redraw_reason": "替换理由", "replaced_by": "被替换为",
                "chain_seq": "存证链序号", "record_digest": "存证摘要",
            }
            st.dataframe(
                table, hide_index=True,
                column_config={
                    **headers, "created_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
                },
                key="draw_history_table",
            )
            widgets.download_buttons(table.rename(columns=headers), "抽查记录", f"抽查记录 · {scope.name}",
                                     key="history_download")

# ---------------------------------------------------------------- ④ outcomes
with outcome_tab:
    if opened is None:
        st.info("先抽取或打开一条抽查记录。")
    else:
        st.markdown(f"抽查记录 #{opened}：逐件记录包案领导汇报、点评意见、评价和跟进时限。跟进事项会出现在“三色督办”页和案件详情中。")
        with st.form("outcome_form"):
            left, right = st.columns(2)
            case_no = left.selectbox("案件", cases["case_no"].tolist(), key="outcome_case")
            rating = right.radio("会上评价（包案领导工作）", list(RATINGS), format_func=RATINGS.get, horizontal=True,
                                 key="outcome_rating", index=None)
            report = st.text_area("包案领导汇报（已做工作、未化解原因、下一步措施）", key="outcome_report")
            comment = st.text_area("点评意见", key="outcome_comment")
            left, right = st.columns(2)
            due = left.date_input("跟进时限", value=today + dt.timedelta(days=30), key="outcome_due", format="YYYY-MM-DD")
            right.caption(f"记录人：{widgets.plain(actor.label)}")
            if st.form_submit_button("保存会后记录", type="primary"):
                try:
                    if rating is None:
                        raise DrawError("请选择会上评价（工作到位 / 需改进 / 工作不力）后再保存。")
                    widgets.run_action(actions.record_outcome, draw_id=int(opened), case_no=case_no,
                                       leader_report=report, comment=comment, rating=rating, follow_up_due=due)
                except (DrawError, actions.ActionError) as error:
                    st.error(widgets.plain(error))
                else:
                    st.success(f"已保存 {widgets.plain(case_no)} 的会后记录。")
        with widgets.engine().connect() as conn:
            recorded = outcomes(conn, scope, draw_id=int(opened))
        if not recorded.empty:
            outcome_table = pd.DataFrame({
                "信访件编号": recorded["case_no"], "评价": recorded["rating"].map(RATINGS),
                "汇报": recorded["leader_report"], "点评": recorded["comment"].fillna(""),
                "跟进时限": recorded["follow_up_due"], "记录人": recorded["recorded_by"],
                "记录时间": recorded["recorded_at"],
            })
            event = st.dataframe(outcome_table, hide_index=True, key="outcome_table", on_select="rerun",
                                 selection_mode="single-row")
            st.caption("勾选行首方框可打开该案件详情。")
            widgets.download_buttons(outcome_table, f"会后记录_{opened}", f"会后记录 · 抽查记录 #{opened}",
                                     key="outcome_download")
            if event.selection.rows:
                widgets.open_case(str(recorded.iloc[event.selection.rows[0]]["case_no"]))
