"""信访督查看板 — entry point (`streamlit run streamlit_app.py`)."""

import streamlit as st

from pages import widgets

st.set_page_config(page_title="信访督查看板", layout="wide")

widgets.ensure_ready()

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="总览", url_path="overview", default=True),
        st.Page("pages/heatmap.py", title="积案热力图", url_path="heatmap"),
        st.Page("pages/spot_check.py", title="随机抽查", url_path="spot-check"),
        st.Page("pages/supervision.py", title="三色督办", url_path="supervision"),
    ]
)
widgets.sidebar_filters()
navigation.run()
