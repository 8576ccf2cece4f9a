"""Three-color supervision (三色督办): open cases with their color, counts per county."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from dashboard.rules import COLOR_ORDER
from queries import summary
from queries.cases import open_cases
from queries.filters import Filters, Scope
from queries.regions import counties

__all__ = ["open_cases", "colors_by_county"]


def colors_by_county(
    conn: Connection, scope: Scope, filters: Filters
) -> pd.DataFrame:
    """Red / yellow / green counts of open cases per county in scope (zeros included):
    one grouped query on the stored colors when they are for the period end, else the
    open cases colored by the one rule."""
    table = counties(conn, scope)[["code", "name"]].rename(
        columns={"code": "county_code", "name": "county_name"}
    )
    if filters.county_code:
        table = table[table["county_code"] == filters.county_code]
    stored = summary._color_counts(conn, scope, filters, "county_code")
    if stored is not None:
        counts = stored.set_index("code")
    else:
        frame = open_cases(conn, scope, filters)
        counts = (
            frame.groupby(["county_code", "color"]).size().unstack(fill_value=0)
            if not frame.empty
            else pd.DataFrame()
        )
    for color in COLOR_ORDER:
        column = counts[color] if color in counts else pd.Series(dtype="int64")
        table[color] = table["county_code"].map(column).fillna(0).astype("int64")
    table["total"] = table[list(COLOR_ORDER)].sum(axis=1)
    return table.reset_index(drop=True)
