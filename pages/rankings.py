"""排名 rankings (赛马晾晒): counties and townships ranked on the §6 rates, with the
rank change against the previous month (year to date: against the end of last month);
export to Excel / CSV with numeric values. The choice of level and indicator is kept in
the address (?rank_level=…&rank_metric=…)."""

import pandas as pd
import streamlit as st

from pages import charts, ensure_navigation, session, widgets
from queries.rankings import METRICS, describe_comparison, ranking

ensure_navigation()
actor = session.require("view")

LEVELS = {"county": "县区", "township": "乡镇（街道）"}

scope = widgets.current_scope()
filters = widgets.current_filters()

st.title("排名")
st.caption(widgets.describe_filters(scope, filters) + " · " + describe_comparison(filters))
left, right = st.columns([1, 3])
level = left.radio("排名对象", list(LEVELS), format_func=LEVELS.get, key="rank_level", horizontal=True,
                   bind="query-params")
metric = right.radio("指标", list(METRICS), format_func=lambda m: METRICS[m][0], key="rank_metric",
                     horizontal=True, bind="query-params")
name, higher = METRICS[metric]
frame = widgets.run_query(ranking, scope, filters, level, metric)
if level == "township":
    counties, _ = widgets.region_frames(scope)
    frame["county"] = frame["parent_code"].map(counties.set_index("code")["name"])
is_rate = metric != "backlog_per_10k"
# Rates are shown and exported in percent; backlog per 10,000 residents as it is.
scale = 100 if is_rate else 1
unit = "（%）" if is_rate else ""


def shown_change(change) -> str:
    if pd.isna(change):
        return "—"
    return "持平" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")


columns = {
    "名次": frame["rank"],
    LEVELS[level]: frame["name"],
    **({"县区": frame["county"]} if level == "township" else {}),
    name + unit: frame["value"] * scale,
    "上月名次": frame["previous_rank"],
    "名次变化": frame["change"],
}
# The export keeps numbers (rank change: + up, − down); the screen shows arrows.
export = pd.DataFrame(columns)
export[name + unit] = export[name + unit].round(4)
table = export.assign(名次变化=frame["change"].map(shown_change))
st.caption(("数值越高越好" if higher else "数值越低越好") + "；名次按未经四舍五入的数值排定，并列同名次；"
           "没有数据的区域（分母为 0）不排名，列在最后。")
left, right = st.columns([3, 2])
with left:
    st.dataframe(
        table, hide_index=True, key="ranking_table", height=min(38 * (len(table) + 1), 640),
        column_config={name + unit: st.column_config.NumberColumn(format="%.1f" if is_rate else "%.2f"),
                       "名次": st.column_config.NumberColumn(format="%d"),
                       "上月名次": st.column_config.NumberColumn(format="%d")},
    )
    widgets.download_buttons(export, f"排名_{LEVELS[level]}_{name}", f"{LEVELS[level]}{name}排名 · "
                             + widgets.describe_filters(scope, filters) + " · " + describe_comparison(filters)
                             + "；名次变化：正数为上升、负数为下降", key="ranking_download")
with right:
    chart_data = frame.dropna(subset=["value"])
    missing = len(frame) - len(chart_data)
    # Every ranked region is drawn, best first, as a dot on an axis zoomed to the data
    # (rates of 96.9–97.3% stay apart), the median dashed.
    charts.show(charts.dot_ranking(chart_data, name_title=LEVELS[level], value_title=name,
                                       higher_is_better=higher, percent=is_rate), width="stretch")
    st.caption(f"共 {len(chart_data)} 个{LEVELS[level]}参与排名" + (f"，{missing} 个没有数据" if missing else "")
               + "。横轴只取数据所在的区间（不从 0 起），虚线为中位数；绿点优于中位数，红点差于中位数。")

# The monthly bulletin (月度通报) of the user's area as a Word document.
st.subheader("月度通报")
from dashboard import config  # noqa: E402
from entrypoints.bulletin import bulletin_data, bulletin_docx, parse_month  # noqa: E402

_today = config.today()
_months = [(pd.Timestamp(_today).to_period("M") - k).strftime("%Y-%m") for k in range(1, 13)]
_left, _right = st.columns([1, 3])
_month = _left.selectbox("月份", _months, key="bulletin_month")
_url = config.database_url()


def _bulletin_bytes(month: str = _month) -> bytes:
    start, end = parse_month(month, _today)
    with widgets._engine_for(_url).connect() as conn:
        return bulletin_docx(bulletin_data(conn, scope, start, end), issued_on=_today)


widgets.export_button(_right, f"下载 {_month} 月度通报（Word）", _bulletin_bytes, file_name=f"月度通报_{scope.name}_{_month}.docx",
                      mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                      key="bulletin_download", what=f"月度通报 {_month} {scope.name}")
_right.caption("含总体情况、各项指标与上月对比、县区和乡镇排名及名次变化、红色督办和未化解积案清单（不含信访人信息）、图表；"
               "数字与 `python -m dashboard kpi --json` 同月一致。")
