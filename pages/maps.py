"""Maps of unresolved backlog, drawn without any tile server (government networks are
often offline): township polygons colored in bands from the data's quantiles, county
outlines and names, labels on the worst townships, the selected township outlined.

The heatmap and the overview draw a Vega-Lite (Altair) map whose projection fits the
width it is given (a phone included); the drill-down keeps its deck.gl map (a click
descends a level) with the same bands and colors."""

from __future__ import annotations

import functools
import json
import math

import altair as alt
import pandas as pd
import pydeck as pdk
import streamlit as st
from shapely.geometry import MultiPolygon, mapping, shape
from shapely.geometry.polygon import orient

from pages import charts

# The one color scale of unresolved backlog on maps: light to dark red in up to five
# bands; band 0 (light grey) for regions with none.
BACKLOG_PALETTE = [(236, 236, 236), (254, 229, 217), (252, 174, 145), (251, 106, 74), (222, 45, 38),
                   (165, 15, 21)]
BANDS = 5
NARROW_MAP_PX = 500  # a map narrower than this (a phone) names only the worst few townships
NARROW_MAP_LABELS = 3
BAND_RULE = "分档方法：五分位数（有积案的地区按件数从少到多均分为五档，每档地区数大致相同）"


def backlog_breaks(values) -> list[int]:
    """Upper bounds of the non-empty bands: the quintiles of the positive values (whole
    numbers, duplicates merged), so that one outlier does not put every other region in
    the palest band. [1] when no region has any."""
    positive = sorted(int(v) for v in values if v and v > 0)
    if not positive:
        return [1]
    bounds = []
    for i in range(1, BANDS + 1):
        bound = positive[max(0, math.ceil(len(positive) * i / BANDS) - 1)]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return bounds


def backlog_class(value: int, breaks: list[int]) -> int:
    """Palette index of `value`: 0 for none; with fewer than five bands the darker
    colors are used (the worst band is always the darkest)."""
    if value <= 0:
        return 0
    band = next((i for i, upper in enumerate(breaks, start=1) if value <= upper), len(breaks))
    return BANDS - len(breaks) + band


def band_labels(breaks: list[int]) -> list[tuple[int, str]]:
    """(palette index, text) of each legend entry, from 0 up."""
    items = [(0, "0")]
    lower = 1
    for band, upper in enumerate(breaks, start=1):
        items.append((BANDS - len(breaks) + band, f"{lower}–{upper}" if upper > lower else f"{upper}"))
        lower = upper + 1
    return items


def backlog_legend(breaks: list[int]) -> None:
    def swatch(rgb: tuple[int, int, int], text: str) -> str:
        r, g, b = rgb
        return (f"<span style='display:inline-block;width:1.6em;height:0.9em;background:rgb({r},{g},{b});"
                f"border:1px solid #999;vertical-align:middle;margin-right:0.3em'></span>{text}")

    items = [swatch(BACKLOG_PALETTE[i], text) for i, text in band_labels(breaks)]
    st.markdown("图例（未化解积案，件）：" + "&emsp;".join(items), unsafe_allow_html=True)
    st.caption(BAND_RULE + "。")


def _rgb(index: int) -> str:
    return "rgb({},{},{})".format(*BACKLOG_PALETTE[index])


@functools.lru_cache(maxsize=4096)
def _clockwise(boundary: str) -> dict:
    """The geometry with clockwise outer rings: Vega's spherical geometry reads a
    counter-clockwise ring (GeoJSON's right-hand rule) as the whole globe minus the region.
    Boundaries change only with a region import: each is turned once per process, not on
    every view (the result is shared, never changed)."""
    geometry = shape(json.loads(boundary))
    if isinstance(geometry, MultiPolygon):
        geometry = MultiPolygon([orient(part, sign=-1.0) for part in geometry.geoms])
    else:
        geometry = orient(geometry, sign=-1.0)
    return mapping(geometry)


def _features(shapes: pd.DataFrame, records: list[dict], key: str) -> list[dict]:
    boundaries = shapes.set_index("code")["boundary"]
    features = []
    for record in records:
        boundary = boundaries.get(record[key])
        if isinstance(boundary, str) and boundary:
            # The fields sit beside the geometry, where Vega-Lite's encodings find them.
            # Flat rows with the geometry in one field (encoded as `shape`, type geojson), so
            # that a click selects a row by its fields like any other chart.
            features.append({**record, "geo": {"type": "Feature", "geometry": _clockwise(boundary),
                                               "properties": {}}})
    return features


def backlog_map(township_shapes: pd.DataFrame, county_shapes: pd.DataFrame, backlog: pd.DataFrame, *,
                height: int, labels: int = 8, selected: str | None = None, pickable: bool = False,
                font_size: int = 11) -> alt.LayerChart | None:
    """The township map: fill by band of unresolved backlog, county outlines and names,
    the `labels` worst townships named with their count, `selected` outlined in black.
    With `pickable`, a click selects a township (parameter "pick", field township_code).
    None when no township has a boundary."""
    breaks = backlog_breaks(backlog["unresolved"])
    records = [
        {"township_code": r.township_code, "township_name": r.township_name, "county_name": r.county_name,
         "unresolved": int(r.unresolved), "backlog_total": int(r.backlog_total),
         "backlog_resolved": int(r.backlog_resolved), "band": backlog_class(int(r.unresolved), breaks)}
        for r in backlog.itertuples()
    ]
    towns = _features(township_shapes, records, "township_code")
    if not towns:
        return None
    legend_items = band_labels(breaks)
    fill = alt.Color(
        "band:O", title="未化解积案（件）",
        scale=alt.Scale(domain=[i for i, _ in legend_items], range=[_rgb(i) for i, _ in legend_items]),
        legend=None,
    )
    tooltip = [alt.Tooltip("township_name:N", title="乡镇（街道）"), alt.Tooltip("county_name:N", title="县区"),
               alt.Tooltip("unresolved:Q", title="未化解积案（件）"), alt.Tooltip("backlog_total:Q", title="积案总数"),
               alt.Tooltip("backlog_resolved:Q", title="已化解")]
    base = alt.Chart(alt.Data(values=towns)).mark_geoshape(stroke="#ffffff", strokeWidth=0.6).encode(
        shape=alt.Shape("geo:G"), color=fill, tooltip=tooltip)
    if pickable:
        pick = alt.selection_point(name="pick", fields=["township_code"], on="click", empty=False,
                                   clear="dblclick")
        base = base.add_params(pick)
    layers = [base]
    county_shapes = county_shapes[county_shapes["name"].isin(backlog["county_name"])]
    county_records = [{"code": c, "name": n} for c, n in zip(county_shapes["code"], county_shapes["name"], strict=True)]
    counties = _features(county_shapes, county_records, "code")
    if counties:
        layers.append(alt.Chart(alt.Data(values=counties)).mark_geoshape(
            fill="none", stroke="#333333", strokeWidth=1.8).encode(shape=alt.Shape("geo:G")))
    if selected:
        chosen = [f for f in towns if f["township_code"] == selected]
        if chosen:
            layers.append(alt.Chart(alt.Data(values=chosen)).mark_geoshape(
                fill="none", stroke="#000000", strokeWidth=3.5).encode(shape=alt.Shape("geo:G")))
    centroids = township_shapes.set_index("code")[["lon", "lat"]]
    worst = [r for r in sorted(records, key=lambda r: -r["unresolved"]) if r["unresolved"] > 0][:labels]
    if selected and selected not in {r["township_code"] for r in worst}:
        worst += [r for r in records if r["township_code"] == selected]
    # rank: 1 for the worst; 0 for the selected township (always named)
    points = [{"lon": float(centroids.at[r["township_code"], "lon"]), "lat": float(centroids.at[r["township_code"], "lat"]),
               "text": f"{r['township_name']} {r['unresolved']}",
               "rank": 0 if r["township_code"] == selected else rank}
              for rank, r in enumerate(worst, start=1) if r["township_code"] in centroids.index
              and pd.notna(centroids.at[r["township_code"], "lon"])]
    if points:
        # On a phone-wide map the labels of the central townships run into each other:
        # there only the worst few are named (the width is the map's, known in the browser).
        shown = alt.condition(f"width < {NARROW_MAP_PX} && datum.rank > {NARROW_MAP_LABELS}",
                              alt.value(0), alt.value(1))
        text = alt.Chart(alt.Data(values=points)).encode(
            longitude="lon:Q", latitude="lat:Q", text="text:N", opacity=shown)
        layers.append(text.mark_text(fontSize=font_size, fontWeight="bold", stroke="white", strokeWidth=3,
                                     strokeOpacity=0.9))
        layers.append(text.mark_text(fontSize=font_size, fontWeight="bold", color="#111111"))
    if counties and "lon" in county_shapes:
        names = [{"lon": float(lon), "lat": float(lat), "text": name} for name, lon, lat
                 in zip(county_shapes["name"], county_shapes["lon"], county_shapes["lat"], strict=True)
                 if pd.notna(lon) and pd.notna(lat)]
        if names:
            label = alt.Chart(alt.Data(values=names)).encode(longitude="lon:Q", latitude="lat:Q", text="text:N")
            layers.append(label.mark_text(fontSize=font_size + 4, fontWeight="bold", dy=-16, stroke="white",
                                          strokeWidth=4, strokeOpacity=0.9))
            layers.append(label.mark_text(fontSize=font_size + 4, fontWeight="bold", dy=-16, color="#1f3a93"))
    return (alt.layer(*layers).project(type="mercator").properties(height=height)
            .configure_view(stroke=None))


def show_backlog_map(township_shapes: pd.DataFrame, county_shapes: pd.DataFrame, backlog: pd.DataFrame, *,
                     height: int, labels: int = 8, selected: str | None = None, pickable: bool = False,
                     font_size: int = 11, **show_kwargs):
    """Draw `backlog_map` (same arguments; the rest go to `st.vega_lite_chart`), built
    once per process for the same shapes, figures and options and shared by every
    viewer. None when no township has a boundary (nothing drawn), else what Streamlit
    returns (the selection with `on_select`)."""
    spec_key = ("backlog_map", charts.fingerprint(township_shapes, county_shapes, backlog),
                height, labels, selected, pickable, font_size)
    return charts.show_cached(spec_key, lambda: backlog_map(
        township_shapes, county_shapes, backlog, height=height, labels=labels, selected=selected,
        pickable=pickable, font_size=font_size), **show_kwargs)


# ---------------------------------------------------------------- deck.gl (drill-down)


def backlog_polygons(shapes: pd.DataFrame, records: list[dict], key: str, value: str,
                     breaks: list[int]) -> list[dict]:
    """One PolygonLayer row per polygon of each record's region (`shapes`: code and
    boundary GeoJSON), filled by the record's `value` band; the record's fields go
    along for tooltips and selections."""
    boundaries = shapes.set_index("code")["boundary"]
    rows = []
    for record in records:
        boundary = boundaries.get(record[key])
        if not boundary:
            continue
        shape = json.loads(boundary)
        polygons = shape["coordinates"] if shape["type"] == "MultiPolygon" else [shape["coordinates"]]
        fill = list(BACKLOG_PALETTE[backlog_class(int(record[value]), breaks)]) + [220]
        rows += [{"polygon": polygon[0], "fill": fill, **record} for polygon in polygons]
    return rows


def map_view(polygons: list[dict], width: int, height: int) -> pdk.ViewState:
    """A view that frames the polygons (rows of `backlog_polygons`) in a map of about
    `width` × `height` pixels (deck.gl: 512 pixels show 360° at zoom 0)."""
    points = [point for row in polygons for point in row["polygon"]]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon_span = max(max(lons) - min(lons), 0.01)
    lat_span = max(max(lats) - min(lats), 0.01) / math.cos(math.radians((max(lats) + min(lats)) / 2))
    zoom = math.log2(min(360 / lon_span * width / 512, 360 / lat_span * height / 512)) - 0.1
    return pdk.ViewState(longitude=(max(lons) + min(lons)) / 2, latitude=(max(lats) + min(lats)) / 2,
                         zoom=max(1.0, zoom))


# A hover lightens the region a little (deck.gl's default is a purple-blue).
HOVER = [255, 255, 255, 90]
