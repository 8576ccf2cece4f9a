"""数据导入 data import: load a ledger (Excel/CSV) with column mapping, a check run,
a progress bar and a row-by-row account of what was refused; regions and boundaries;
export the ledger back out."""

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.ledger import (
    FIELDS,
    REQUIRED,
    LedgerError,
    find_header,
    header_names,
    ledger_frame,
    mapping_toml,
    read_table,
    rejected_csv,
)
from pages import ensure_navigation, session, widgets
from queries.cases import case_ids

ensure_navigation()
actor = session.require("import")

IGNORE = "（不导入）"
FIELD_LABELS = {key: header for key, (header, _) in FIELDS.items()}

scope = widgets.current_scope()
filters = widgets.current_filters()

st.title("数据导入")
ledger_tab, region_tab, export_tab = st.tabs(["信访事项台账", "区划与边界", "台账导出"], key="import_tabs")

with ledger_tab:
    st.markdown(
        "支持 .xlsx、.xls、.csv（UTF-8 或 GBK）。表头上方的标题行会自动跳过；按“信访件编号”更新已有案件，"
        "同一文件重复导入不会产生变化。办理期限由系统按时限规则计算，表中的“办理期限”仅作参考。\n\n"
        "下面逐列核对的对照以您的选择为准：设为（不导入）的列不会写入，表头为空的列（第N列）也可指定字段；"
        "文件中没有的列，已有案件保留原值。越级情况请填 赴省、进京 或 无（只写“是”的行会被拒，请补填去向）。"
    )
    upload = st.file_uploader("选择台账文件", type=["xlsx", "xls", "csv"], key="ledger_file")
    widgets.uploader_hint("Excel（.xlsx、.xls）或 CSV 台账")
    if upload is not None:
        try:
            rows = read_table(upload.getvalue(), upload.name)
            header_index, detected = find_header(rows)
        except LedgerError as error:
            st.error(widgets.plain(error))
            st.stop()
        header = header_names(rows[header_index])
        st.caption(f"表头在第 {header_index + 1} 行，共 {len(header)} 列。请核对每一列对应的字段：")
        options = [IGNORE, *FIELDS]
        chosen_columns: dict[int, str] = {}  # exactly what is imported: the user's choice wins
        columns = st.columns(4)
        for i, name in enumerate(header):
            chosen = columns[i % 4].selectbox(
                widgets.plain(name), options, index=options.index(detected.get(i, IGNORE)), key=f"map_{upload.name}_{i}",
                format_func=lambda key: FIELD_LABELS.get(key, key),
            )
            if chosen != IGNORE:
                chosen_columns[i] = chosen
        # the saved file says which columns not to import too ("")
        mapping = {name: chosen_columns.get(i, "") for i, name in enumerate(header)}
        missing = [FIELDS[k][0] for k in REQUIRED if k not in chosen_columns.values()]
        duplicated = sorted({v for v in chosen_columns.values() if list(chosen_columns.values()).count(v) > 1})
        widgets.export_button(st, "保存列名对照（TOML）", lambda: mapping_toml(mapping).encode("utf-8"),
                              file_name="列名对照.toml", mime="application/toml", key="mapping_download",
                              what="列名对照")
        if missing:
            st.error(f"还缺少必需的列：{'、'.join(missing)}。请在上面指定。")
        elif duplicated:
            st.error(f"字段 {'、'.join(FIELD_LABELS[d] for d in duplicated)} 被指定给了多列，请只保留一列。")
        else:
            left, right = st.columns(2)
            check = left.button("检查（不写入）", key="ledger_check")
            run = right.button("导入", type="primary", key="ledger_run")
            if check or run:
                bar = st.progress(0.0, text="正在读取…")
                try:
                    result = widgets.run_action(
                        actions.import_ledger, rows, file_name=upload.name, header_row=header_index,
                        columns=chosen_columns, dry_run=check,
                        progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m),
                    )
                except LedgerError as error:
                    st.session_state.pop("ledger_result", None)
                    st.error(widgets.plain(error))
                else:
                    # kept so the summary stays on screen when a download reruns the page
                    st.session_state["ledger_result"] = (upload.name, result)
                bar.empty()
        shown = st.session_state.get("ledger_result")
        if shown and shown[0] == upload.name:
            result = shown[1]
            check = result.dry_run
            cols = st.columns(4)
            widgets.kpi_tile(cols[0], "将新增" if check else "新增", f"{result.new:,} 件")
            widgets.kpi_tile(cols[1], "将更新" if check else "更新", f"{result.updated:,} 件")
            widgets.kpi_tile(cols[2], "未变", f"{result.unchanged:,} 件")
            widgets.kpi_tile(cols[3], "拒绝", f"{result.rejected_count:,} 行")
            (st.info if check else st.success)(
                ("检查完成，尚未写入。" if check else "导入完成。")
                + (f"{'将' if check else ''}新建单位：{'、'.join(result.new_units)}。" if result.new_units else "")
                + (f"{'将' if check else ''}新建包案领导：{'、'.join(result.new_leaders)}。"
                   if result.new_leaders else "")
            )
            if result.rejected:
                st.markdown("**被拒绝的行**（修改后可再次导入）")
                st.dataframe(pd.DataFrame(
                    [{"行号": r.row, "列": r.column, "值": r.value, "原因": r.reason} for r in result.rejected]
                ), hide_index=True, key="ledger_rejections")
                widgets.export_button(st, "下载被拒行（CSV）", lambda: rejected_csv(result),
                                      file_name=f"{upload.name}.被拒行.csv", mime="text/csv",
                                      key="rejected_download", what="台账被拒行")

with region_tab:
    st.markdown(
        "新建的正式系统先运行 `python -m dashboard init`（不带示例数据），再在这里导入区划：\n"
        "- 区划清单 CSV：`code,name,level,parent_code,lon,lat,population`（或 区划代码, 名称, 层级, 上级代码, 经度, 纬度, 人口）；\n"
        "- 乡镇边界 GeoJSON：要素属性 `code`（区划代码）或 `name`（名称），几何为 Polygon / MultiPolygon。\n"
        "重复导入会更新；几何无效的文件整体拒绝并说明原因。"
    )
    region_file = st.file_uploader("选择区划 CSV 或边界 GeoJSON", type=["csv", "geojson", "json"], key="region_file")
    widgets.uploader_hint("区划 CSV 或边界 GeoJSON 文件")
    if region_file is not None and st.button("导入区划", key="region_run"):
        try:
            _summary, message = widgets.run_action(actions.import_regions, region_file.getvalue(), region_file.name)
        except LedgerError as error:
            st.error(widgets.plain(error))
        else:
            st.success(widgets.plain(message))

with export_tab:
    st.markdown(
        f"按侧栏筛选导出台账（{widgets.describe_filters(scope, filters)}，按登记日期）。列名同信访事项台账，"
        "可直接再导入。个人信息按规定脱敏；再导入时脱敏的值不会覆盖原有信息。"
    )
    if st.button("生成台账文件", key="ledger_export"):
        with widgets.engine().connect() as conn:
            frame = ledger_frame(conn, case_ids(conn, scope, filters), masked=True)
        st.caption(f"共 {len(frame):,} 件。")
        widgets.download_buttons(frame, f"信访事项台账_{config.today():%Y%m%d}",
                                 "信访事项台账 · " + widgets.describe_filters(scope, filters), key="ledger_file_out")
