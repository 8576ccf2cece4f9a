"""A success message that survives the rerun after a write (so the page's figures are
drawn again with the new record, and the message still shows)."""

from __future__ import annotations

import pandas as pd
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


def blank(frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """Empty cells shown empty (not "None") in a table of texts and dates; the `keep`
    columns (numbers the table formats) stay as they are."""
    shown = frame.astype(object).where(frame.notna(), "")
    for column in keep:
        shown[column] = frame[column]
    return shown
