"""Import of the accountability loop's records from Excel or CSV (one kind at a time),
shown on the 领导接访 and 纪委移送 pages: a template to download, a dry run, then the
import; refused rows are listed with their reasons and downloadable to fix and import
again. Only the kinds the signed-in role may record are offered."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import actions
from dashboard.ledger import LedgerError
from dashboard.permissions import allowed
from dashboard.record_import import KINDS, read_rows, rejected_csv, template_csv
from pages import session, widgets


def show(kinds: tuple[str, ...], *, key: str) -> None:
    actor = session.actor()
    offered = [k for k in kinds if allowed(actor, KINDS[k].permission)]
    if not offered:
        return
    with st.expander("从 Excel / CSV 导入记录"):
        kind = st.selectbox("记录类型", offered, format_func=lambda k: KINDS[k].title, key=f"{key}_kind")
        st.caption("必填列：" + "、".join(KINDS[kind].columns[c][0] for c in KINDS[kind].required)
                   + "。有问题的行逐行拒绝、说明原因，其余行照常导入；不在您查看范围内的信访件或区划一律拒绝。")
        st.download_button("下载模板（CSV）", template_csv(kind), file_name=f"{KINDS[kind].title}模板.csv",
                           mime="text/csv", key=f"{key}_template")
        upload = st.file_uploader("选择文件", type=["xlsx", "xls", "csv"], key=f"{key}_file")
        if upload is None:
            return
        left, right = st.columns(2)
        dry = left.button("试运行（只检查）", key=f"{key}_dry")
        real = right.button("导入", key=f"{key}_run", type="primary")
        if not (dry or real):
            return
        try:
            rows = read_rows(upload.getvalue(), upload.name)
            result = widgets.run_action(actions.import_records, kind, rows, file_name=upload.name, dry_run=dry)
        except (LedgerError, actions.ActionError) as error:
            st.error(widgets.plain(error))
            return
        verb = "可写入" if dry else "已写入"
        (st.warning if result.rejected else st.success)(
            f"{upload.name}：共 {result.rows} 行，{verb} {result.written} 行，拒绝 {len(result.rejected)} 行。")
        if result.rejected:
            st.dataframe(pd.DataFrame([{"行号": r.row, "问题列": r.column, "原因": r.reason} for r in result.rejected]),
                         hide_index=True)
            st.download_button("下载被拒行（修改后可再次导入）", rejected_csv(result),
                               file_name=f"{upload.name}.rejected.csv", mime="text/csv", key=f"{key}_rejected")
