"""Streamlit pages (thin: read filters, call `queries`, draw) and their shared widgets.

Streamlit treats a `pages/` folder beside the entry point as a legacy (v1) multipage
app until some session has called `st.navigation`. A first visit straight to a page's
link (e.g. /heatmap) would then run that page without the entry point. Switching the
flag off and rerunning sends the visit through `streamlit_app.py` and its navigation.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
