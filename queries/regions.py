"""Regions in the caller's scope: lists for selectors and township boundaries for maps."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.db import read_frame
from dashboard.models import regions
from queries.filters import Filters, Scope, code_in_scope

REGION_COLUMNS = ("code", "name", "level", "parent_code", "lon", "lat", "population")


def _in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    return code_in_scope(regions.c.code, scope)


def region_list(conn: Connection, scope: Scope, level: str, *, boundaries: bool = False) -> pd.DataFrame:
    """Regions of one level inside the scope, ordered by code."""
    columns = [regions.c[name] for name in REGION_COLUMNS]
    if boundaries:
        columns.append(regions.c.boundary)
    stmt = (
        sa.select(*columns)
        .where(_in_scope(scope), regions.c.level == level)
        .order_by(regions.c.code)
    )
    frame = read_frame(conn, stmt)
    if frame.empty:
        return pd.DataFrame(columns=list(REGION_COLUMNS) + (["boundary"] if boundaries else []))
    return frame


def counties(
    conn: Connection, scope: Scope, filters: Filters | None = None, boundaries: bool = False
) -> pd.DataFrame:
    """Counties in scope, with boundary GeoJSON if asked (filters are accepted for a
    uniform signature; regions are not narrowed by them). A township's scope lists the
    county it belongs to, so that its rows can be labelled with their county."""
    if scope.level == "township":
        parent = sa.select(regions.c.parent_code).where(regions.c.code == scope.region_code).scalar_subquery()
        columns = [regions.c[name] for name in REGION_COLUMNS] + ([regions.c.boundary] if boundaries else [])
        return read_frame(conn, sa.select(*columns).where(regions.c.code == parent))
    return region_list(conn, scope, "county", boundaries=boundaries)


def townships(
    conn: Connection, scope: Scope, filters: Filters | None = None, boundaries: bool = False
) -> pd.DataFrame:
    """Townships in scope with their county code (and boundary GeoJSON if asked)."""
    frame = region_list(conn, scope, "township", boundaries=boundaries)
    return frame.rename(columns={"parent_code": "county_code"})
