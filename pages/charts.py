"""Chart helpers shared by the pages: semantic colors (red only for bad news, green for
good), the current partial month marked as such, ranking dot plots on a zoomed axis."""

from __future__ import annotations

import calendar
import collections
import datetime as dt
import functools
import hashlib
import sys
import threading
from collections.abc import Callable, Hashable

import altair as alt
import pandas as pd
import streamlit as st
from altair.utils import schemapi

from dashboard.labels import COLOR_RGB

RED = "rgb({},{},{})".format(*COLOR_RGB["red"])
GREEN = "rgb({},{},{})".format(*COLOR_RGB["green"])
ORANGE = "#e6550d"  # new backlog, received cases: work coming in (not good, not an alarm)
BLUE = "#3182bd"  # neutral volumes
GREY = "#7f7f7f"


# Altair checks every chart object against the Vega-Lite JSON schema when it is built
# and again when it is converted: a quarter of the overview's server time per view. The
# charts are fixed code and the tests, where the checks stay on, draw every one of them;
# the app (and `bench`) run without them.
CHECK_CHARTS = "pytest" in sys.modules


def configure_altair() -> None:
    """Called by the entry point on every run: no schema checks while building charts
    (Altair's debug mode) outside the tests."""
    if not CHECK_CHARTS:
        schemapi.disable_debug_mode()


def _unchecked(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart, converted without the schema check outside the tests."""
    if not CHECK_CHARTS:
        # an instance attribute (past SchemaBase's own __setattr__, which would store a
        # chart property) that shadows the method Streamlit calls
        object.__setattr__(chart, "to_dict", functools.partial(type(chart).to_dict, chart, validate=False))
    return chart


def show(chart: alt.TopLevelMixin, **kwargs):
    """`st.altair_chart`, converting the chart without the schema check outside the tests."""
    return st.altair_chart(_unchecked(chart), **kwargs)


# Vega-Lite specs of charts built once per process for the same inputs and shared by
# every viewer (a map's geometry took a third of a view's server time to build and
# convert with Altair each time). Keyed by `fingerprint` of everything the chart shows.
SPEC_CACHE_SIZE = 64
_specs: collections.OrderedDict[Hashable, dict | None] = collections.OrderedDict()
_specs_lock = threading.Lock()


def fingerprint(*parts) -> str:
    """A key for `show_cached`: a digest of frames (values and columns) and plain values."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(repr(list(part.columns)).encode())
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


try:  # Streamlit's own conversion (not a public name): charts are drawn uncached without it
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _streamlit_spec
except ImportError:  # pragma: no cover - another Streamlit release
    _streamlit_spec = None


def _spec_of(chart: alt.TopLevelMixin) -> dict:
    """The spec Streamlit itself makes of an Altair chart (its theme handling and data
    transfer), so that drawing it later with `st.vega_lite_chart` is the same chart."""
    return _streamlit_spec(_unchecked(chart))


def clear_cached_specs() -> None:
    """Forget every cached spec (the benchmark's cold visits)."""
    with _specs_lock:
        _specs.clear()


def show_cached(spec_key: Hashable, build: Callable[[], alt.TopLevelMixin | None], **kwargs):
    """Draw the chart `build()` makes, built and converted only the first time this
    process sees `spec_key` (a `fingerprint` of its inputs); later views reuse the spec.
    Returns what `st.vega_lite_chart` returns, or None (nothing drawn) when `build`
    returns None. Streamlit copies a spec before changing it, so the cached one stays."""
    if _streamlit_spec is None:  # a Streamlit release without the conversion: built every time
        chart = build()
        return None if chart is None else show(chart, **kwargs)
    with _specs_lock:
        hit = spec_key in _specs
        spec = _specs.get(spec_key)
        if hit:
            _specs.move_to_end(spec_key)
    if not hit:
        chart = build()
        spec = None if chart is None else _spec_of(chart)
        with _specs_lock:
            _specs[spec_key] = spec
            while len(_specs) > SPEC_CACHE_SIZE:
                _specs.popitem(last=False)
    if spec is None:
        return None
    return st.vega_lite_chart(spec=spec, **kwargs)


def is_partial(end: dt.date) -> bool:
    return end.day != calendar.monthrange(end.year, end.month)[1]


def partial_label(month: str, end: dt.date) -> str:
    """The month's axis label: "2026-12（截至1日）" for the period's unfinished last month."""
    return f"{month}（截至{end.day}日）" if is_partial(end) and month == f"{end:%Y-%m}" else month


def mark_partial(frame: pd.DataFrame, end: dt.date, column: str = "month") -> pd.DataFrame:
    """`frame` with its month labels marked (see `partial_label`) and a `partial` flag
    (drawn lighter), so that a month of a few days is not read as a collapse."""
    out = frame.copy()
    out["partial"] = out[column].astype(str).eq(f"{end:%Y-%m}") & is_partial(end)
    out[column] = out[column].astype(str).map(lambda m: partial_label(m, end))
    return out


def partial_note(end: dt.date, *, lighter: bool = False) -> str:
    """The caption under a monthly chart whose last month is unfinished ("" otherwise)."""
    if not is_partial(end):
        return ""
    return (f"最后一个月（{end:%Y-%m}）截至 {end.day} 日，未满一个月" + ("，柱子颜色较浅" if lighter else "")
            + "，不宜与整月比较。")


def dot_ranking(frame: pd.DataFrame, *, name_title: str, value_title: str, higher_is_better: bool,
                percent: bool) -> alt.Chart:
    """A dot plot of `value` per `name` (best first) on an axis zoomed to the data (not
    from zero: rates of 96.9–97.3% stay apart); the median is drawn as a line, regions on
    the bad side of it red, on the good side green."""
    data = frame[["name", "value", "rank"]].dropna(subset=["value"]).copy()
    median = float(data["value"].median()) if not data.empty else 0.0
    better = data["value"] >= median if higher_is_better else data["value"] <= median
    data["side"] = better.map({True: "优于中位数", False: "差于中位数"})
    low, high = (float(data["value"].min()), float(data["value"].max())) if not data.empty else (0.0, 1.0)
    pad = max((high - low) * 0.08, 0.001 if percent else 0.01)
    axis_format = ".1%" if percent else ".2f"
    x = alt.X("value:Q", title=value_title, scale=alt.Scale(domain=[low - pad, high + pad], zero=False, nice=False),
              axis=alt.Axis(format=axis_format, orient="top"))
    dots = alt.Chart(data).mark_circle(size=70, opacity=1).encode(
        y=alt.Y("name:N", title=None, sort=data["name"].tolist(), axis=alt.Axis(labelOverlap=False, labelLimit=160)),
        x=x,
        color=alt.Color("side:N", title=None, scale=alt.Scale(domain=["优于中位数", "差于中位数"], range=[GREEN, RED]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("name:N", title=name_title), alt.Tooltip("value:Q", title=value_title, format=axis_format),
                 alt.Tooltip("rank:Q", title="名次")],
    )
    rule = alt.Chart(pd.DataFrame({"value": [median]})).mark_rule(color=GREY, strokeDash=[4, 3]).encode(x="value:Q")
    return (rule + dots).properties(height=alt.Step(22))
