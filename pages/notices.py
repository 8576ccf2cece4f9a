"""A success message that survives the rerun after a write (so the page's figures are
drawn again with the new record, and the message still shows)."""

from __future__ import annotations

import streamlit as st

KEY = "accountability_notice"


def done(message: str) -> None:
    """Keep the message and rerun the page."""
    st.session_state[KEY] = message
    st.rerun()


def show() -> None:
    message = st.session_state.pop(KEY, None)
    if message:
        st.success(message)
