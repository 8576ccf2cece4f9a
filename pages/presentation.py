"""投屏模式: the spot-check page's full-screen view for the video meeting — the drawn
cases one at a time in large type (township, summary, leader in charge, days open,
color, deadline), previous / next, a clock counting down to the meeting, the
verification result in one line; the hashes folded away."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard.labels import COLOR_RGB, COLORS, STAGE_DEADLINES, days_left_text
from dashboard.meetings import time_left
from pages import widgets

PRESENT_KEY = "present_draw"
INDEX_KEY = "present_index"

STYLE = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none !important; }
.present-card { border: 1px solid #ddd; border-radius: 10px; padding: 1.2rem 1.6rem; }
.present-card .where { font-size: 2.2rem; font-weight: 700; line-height: 1.3; }
.present-card .summary { font-size: 1.7rem; line-height: 1.5; margin: 0.8rem 0; }
.present-card .facts { font-size: 1.4rem; line-height: 1.8; }
.present-chip { display: inline-block; padding: 0.1rem 0.8rem; border-radius: 6px; font-weight: 700; }
</style>
"""


def start(draw_id: int) -> None:
    st.session_state[PRESENT_KEY] = draw_id
    st.session_state[INDEX_KEY] = 0


def _stop() -> None:
    st.session_state.pop(PRESENT_KEY, None)


def _move(step: int, total: int) -> None:
    st.session_state[INDEX_KEY] = min(max(st.session_state.get(INDEX_KEY, 0) + step, 0), total - 1)


def _esc(value) -> str:
    import html

    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" \
        else html.escape(str(value))


def _card(row) -> str:
    color = row["color"] if isinstance(row["color"], str) else None
    chip = ""
    if color:
        r, g, b = COLOR_RGB[color]
        text = "#222" if color == "yellow" else "#fff"
        chip = (f"<span class='present-chip' style='background:rgb({r},{g},{b});color:{text}'>"
                f"{COLORS[color]}</span> ")
    leader = _esc(row["leader_name"]) + (f"（{_esc(row['leader_title'])}）" if isinstance(row["leader_title"], str) else "")
    deadline = (f"{STAGE_DEADLINES.get(row['stage'], '期限')} {_esc(row['deadline'])}，"
                f"{days_left_text(None if pd.isna(row['days_left']) else int(row['days_left']))}")
    return (
        "<div class='present-card'>"
        f"<div class='where'>{_esc(row['township_name'])}（{_esc(row['county_name'])}）</div>"
        f"<div class='summary'>{_esc(row['summary'])}</div>"
        "<div class='facts'>"
        f"{chip}{deadline}<br>"
        f"包案领导：<b>{leader}</b><br>"
        f"已历时 <b>{_esc(row['days_open'])}</b> 天 · 责任单位：{_esc(row['unit_name'])} · 编号 {_esc(row['case_no'])}"
        "</div></div>"
    )


def show(cases: pd.DataFrame, *, record, meeting_info: dict | None, verified, now: dt.datetime) -> None:
    """The full-screen view of a draw's cases; stops the page after drawing."""
    st.html(STYLE)
    top = st.columns([3, 2, 1])
    title = meeting_info["title"] if meeting_info else (record["meeting"] or f"抽查记录 #{record.name}")
    top[0].markdown(f"## {widgets.plain(title)}")
    if meeting_info is not None:
        when = pd.Timestamp(meeting_info["scheduled_at"]).to_pydatetime()

        @st.fragment(run_every=30)
        def clock() -> None:
            moment = dt.datetime.combine(now.date(), dt.datetime.now().time()).replace(microsecond=0)
            st.markdown(f"### 距开会 {time_left(when, moment)}" if when > moment else "### 会议进行中")

        with top[1]:
            clock()
    top[2].button("退出投屏", key="present_exit", on_click=_stop)
    if verified is None:
        st.info("本次抽取尚未核验：退出投屏后在“③ 抽查记录与核验”点“核验本次抽取”。")
    elif verified.ok:
        st.success("核验通过：按种子和候选清单重算，抽中的案件与记录一致，记录未被改动。")
    else:
        st.error("核验未通过：记录与重算结果不一致，或记录被改动，请立即核查。")
    if cases.empty:
        st.info("本次抽取没有可显示的案件。")
        st.stop()
    total = len(cases)
    index = min(st.session_state.get(INDEX_KEY, 0), total - 1)
    st.markdown(f"#### 第 {index + 1} / {total} 件")
    st.html(_card(cases.iloc[index]))
    left, right, _ = st.columns([1, 1, 4])
    left.button("‹ 上一件", key="present_previous", on_click=_move, args=(-1, total), disabled=index == 0,
                width="stretch")
    right.button("下一件 ›", key="present_next", on_click=_move, args=(1, total), disabled=index == total - 1,
                 type="primary", width="stretch")
    with st.expander("核验细节（随机种子、承诺值、候选清单指纹）"):
        st.caption(f"随机种子：`{record['seed']}` · 候选清单指纹：`{record['candidate_fingerprint']}`"
                   + (f" · 会前承诺值：`{meeting_info['seed_commitment']}`" if meeting_info else ""))
    st.stop()
