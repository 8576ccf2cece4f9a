"""信访督查看板 — entry point (`streamlit run streamlit_app.py`)."""

import streamlit as st

from pages import widgets

st.set_page_config(page_title="信访督查看板", layout="wide")

widgets.ensure_ready()

# Every url_path equals its file's name: until the first `st.navigation` call of a
# server process Streamlit treats `pages/` as a legacy multipage folder and resolves
# links by file name (see pages/__init__.py), so a deep link must work both ways.
navigation = st.navigation(
    {
        "看板": [
            st.Page("pages/overview.py", title="总览", url_path="overview", default=True),
            st.Page("pages/heatmap.py", title="积案热力图", url_path="heatmap"),
            st.Page("pages/supervision.py", title="三色督办", url_path="supervision"),
            st.Page("pages/drill.py", title="逐级下钻", url_path="drill"),
            st.Page("pages/rankings.py", title="排名", url_path="rankings"),
            st.Page("pages/case.py", title="案件详情", url_path="case"),
        ],
        "督查": [
            st.Page("pages/spot_check.py", title="随机抽查", url_path="spot_check"),
            st.Page("pages/reminders.py", title="催办", url_path="reminders"),
            st.Page("pages/leaders.py", title="领导包案", url_path="leaders"),
        ],
        "管理": [
            st.Page("pages/data_import.py", title="数据导入", url_path="data_import"),
            st.Page("pages/settings.py", title="设置", url_path="settings"),
        ],
    }
)
widgets.sidebar_filters()
navigation.run()
