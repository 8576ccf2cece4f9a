"""数据导入 data import: load a ledger (Excel/CSV) with column mapping, a check run,
a progress bar and a row-by-row account of what was refused; regions and boundaries;
export the ledger back out."""

import pandas as pd
import streamlit as st

from dashboard import actions, config
from dashboard.ledger import (
    CODE_LABELS,
    FIELDS,
    REQUIRED,
    LedgerError,
    find_header,
    header_names,
    ledger_frame,
    mapping_toml,
    read_table,
    rejected_csv,
    unknown_words,
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

KEEP_AS_WRITTEN = "（按原文保存）"
LEAVE_REFUSED = "（不指定：该行被拒绝）"
MAX_WORDS_SHOWN = 40


def read_upload(upload) -> dict | None:
    """The uploaded file's rows and header, read (within the import limits) only when
    the user asks for a check; kept for the reruns of the mapping steps."""
    try:
        with st.spinner("正在读取文件…"):
            rows = read_table(upload.getvalue(), upload.name)
            header_index, detected = find_header(rows)
    except LedgerError as error:
        st.error(widgets.plain(error))
        return None
    return {"id": file_key(upload), "rows": rows, "header_index": header_index, "detected": detected}


def file_key(upload) -> tuple:
    return upload.name, upload.size, getattr(upload, "file_id", "")


def value_step(loaded: dict, chosen_columns: dict[int, str]) -> dict[str, dict[str, str | None]]:
    """值对照: the words of coded columns that are not known, per column, each with a
    select box of the valid codes; returns the chosen {field: {word: code}}."""
    memo = (loaded["id"], tuple(sorted(chosen_columns.items())))
    if st.session_state.get("ledger_words_memo") != memo:
        st.session_state["ledger_words"] = unknown_words(loaded["rows"], loaded["header_index"], chosen_columns)
        st.session_state["ledger_words_memo"] = memo
    unknown = st.session_state["ledger_words"]
    chosen: dict[str, dict[str, str | None]] = {}
    if not unknown:
        return chosen
    st.markdown("**值对照**：下列写法不是系统内置的写法，请为每种写法选择对应的代码（随列名对照一并保存）。")
    for key, words in unknown.items():
        required = key in REQUIRED
        labels = CODE_LABELS[key]
        unset = LEAVE_REFUSED if required else KEEP_AS_WRITTEN
        st.caption(f"{FIELDS[key][0]}（{'必填，未指定的行将被拒绝' if required else '选填，未指定的按原文保存并提示'}）")
        columns = st.columns(3)
        ordered = sorted(words.items(), key=lambda item: -item[1])
        for i, (word, count) in enumerate(ordered[:MAX_WORDS_SHOWN]):
            code = columns[i % 3].selectbox(
                widgets.plain(f"“{word}”（{count:,} 行）"), [unset, *labels], key=f"value_{key}_{word}",
                format_func=lambda c, labels=labels: labels.get(c, c),  # the word only, no internal code
            )
            if code != unset:
                chosen.setdefault(key, {})[word] = code
        if len(ordered) > MAX_WORDS_SHOWN:
            st.caption(f"另有 {len(ordered) - MAX_WORDS_SHOWN:,} 种写法未列出：请在保存的对照文件 [values.{key}] 中补充。")
    return chosen


def ledger_step(upload) -> None:
    loaded = st.session_state.get("ledger_loaded")
    fresh = False
    if loaded is None or loaded["id"] != file_key(upload):
        st.caption("文件已选择，尚未读取。点击“检查（不写入）”读取并核对（不会写入数据）。")
        if not st.button("检查（不写入）", key="ledger_read"):
            return
        loaded = read_upload(upload)
        if loaded is None:
            return
        st.session_state["ledger_loaded"] = loaded
        st.session_state.pop("ledger_result", None)
        fresh = True  # the first check runs at once, with the columns as detected
    rows, header_index, detected = loaded["rows"], loaded["header_index"], loaded["detected"]
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
    shown = st.session_state.get("ledger_result")
    values = value_step(loaded, chosen_columns) if shown and shown[0] == upload.name else {}
    widgets.export_button(st, "保存列名与值对照（TOML）", lambda: mapping_toml(mapping, values).encode("utf-8"),
                          file_name="列名对照.toml", mime="application/toml", key="mapping_download",
                          what="列名对照")
    if missing:
        st.error(f"还缺少必需的列：{'、'.join(missing)}。请在上面指定。")
    elif duplicated:
        st.error(f"字段 {'、'.join(FIELD_LABELS[d] for d in duplicated)} 被指定给了多列，请只保留一列。")
    else:
        left, right = st.columns(2)
        check = left.button("检查（不写入）", key="ledger_check") or fresh
        run = right.button("导入", type="primary", key="ledger_run")
        if check or run:
            bar = st.progress(0.0, text="正在检查…")
            try:
                result = widgets.run_action(
                    actions.import_ledger, rows, file_name=upload.name, header_row=header_index,
                    columns=chosen_columns, values=values, dry_run=not run,
                    progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m),
                )
            except LedgerError as error:
                st.session_state.pop("ledger_result", None)
                st.error(widgets.plain(error))
            else:
                # kept so the summary stays on screen when a download reruns the page
                st.session_state["ledger_result"] = (upload.name, result)
                if fresh:
                    st.rerun()  # the value-mapping step shows under the columns
            bar.empty()
    shown = st.session_state.get("ledger_result")
    if shown and shown[0] == upload.name:
        show_result(shown[1], upload.name)


def show_result(result, file_name: str) -> None:
    check = result.dry_run
    cols = st.columns(4)
    widgets.kpi_tile(cols[0], "将新增" if check else "新增", f"{result.new:,} 件")
    widgets.kpi_tile(cols[1], "将更新" if check else "更新", f"{result.updated:,} 件")
    widgets.kpi_tile(cols[2], "未变", f"{result.unchanged:,} 件")
    widgets.kpi_tile(cols[3], "拒绝", f"{result.rejected_count:,} 行")
    (st.info if check else st.success)(widgets.plain(
        ("检查完成，尚未写入。" if check else "导入完成。")
        + (f"{'将' if check else ''}新建单位：{'、'.join(result.new_units)}。" if result.new_units else "")
        + (f"{'将' if check else ''}新建包案领导：{'、'.join(result.new_leaders)}。"
           if result.new_leaders else "")
    ))
    if result.warnings:
        st.markdown(f"**提示**（{len(result.warnings):,} 处，行{'将' if check else '已'}导入，写法按原文保存）")
        st.dataframe(pd.DataFrame(
            [{"行号": w.row, "列": w.column, "值": w.value, "说明": w.reason} for w in result.warnings]
        ), hide_index=True, key="ledger_warnings")
    if result.rejected:
        st.markdown("**被拒绝的行**（修改后可再次导入；个人信息已脱敏）")
        st.dataframe(pd.DataFrame(
            [{"行号": r.row, "列": r.column, "值": r.value, "原因": r.reason} for r in result.rejected]
        ), hide_index=True, key="ledger_rejections")
        widgets.export_button(st, "下载被拒行（CSV）", lambda: rejected_csv(result),
                              file_name=f"{file_name}.被拒行.csv", mime="text/csv",
                              key="rejected_download", what="台账被拒行")


with ledger_tab:
    st.markdown(
        "支持 .xlsx、.xls、.csv（UTF-8 或 GBK）。表头上方的标题行会自动跳过；按“信访件编号”更新已有案件，"
        "同一文件重复导入不会产生变化。办理期限由系统按时限规则计算，表中的“办理期限”仅作参考。\n\n"
        "选择文件后点击“检查（不写入）”：先读取并核对，再导入。下面逐列核对的对照以您的选择为准："
        "设为（不导入）的列不会写入，表头为空的列（第N列）也可指定字段；文件中没有的列，已有案件保留原值。"
        "信访形式、满意度等代码列的其他写法可在“值对照”中指定。越级情况请填 赴省、进京 或 无。\n\n"
        f"上限：文件 {config.import_max_bytes() / 1048576:g} MB、{config.import_max_rows():,} 行、"
        f"{config.import_max_columns()} 列（超过请拆分）。"
    )
    upload = st.file_uploader("选择台账文件", type=["xlsx", "xls", "csv"], key="ledger_file")
    widgets.uploader_hint("Excel（.xlsx、.xls）或 CSV 台账")
    if upload is not None:
        ledger_step(upload)

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
