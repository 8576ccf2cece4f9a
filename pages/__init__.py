"""Streamlit pages (thin: read filters, call `queries`, draw) and their shared widgets.

Streamlit treats a `pages/` folder beside the entry point as a legacy (v1) multipage
app until a run has called `st.navigation`; such a run executes a page script without
the entry point (no sidebar filters, no set-up). Every page therefore starts with
`ensure_navigation()`, which switches the legacy mode off and reruns the visit through
`streamlit_app.py`. This happens on a process's first visit straight to a page link
(e.g. /heatmap) and on every run under `AppTest`, which resets the flag.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_navigation() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


ensure_navigation()
