"""The region scope of a caller: the one home of "who may see which region".

A scope is the whole city, one county or one township, taken from the signed-in user
(never from widgets or URL parameters). Containment follows the region tree
(`regions.parent_code`), not code prefixes, so it is right for any code scheme.
`queries/` restricts every statement with `scope_condition` / `code_in_scope`; the
actions layer checks every write target with `region_in_scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases, regions


class UnknownRegion(ValueError):
    """A region code that is not in the database."""


@dataclass(frozen=True)
class Scope:
    """The region a caller may see: the whole city, one county or one township."""

    region_code: str
    level: str  # city / county / township
    name: str = ""


def city_scope(conn: Connection) -> Scope:
    """The whole city (the first city-level region)."""
    row = conn.execute(
        sa.select(regions.c.code, regions.c.level, regions.c.name)
        .where(regions.c.level == "city").order_by(regions.c.code).limit(1)
    ).first()
    if row is None:
        raise UnknownRegion("数据库中没有市级区划，请先运行 `python -m dashboard init --sample` 或导入区划。")
    return Scope(region_code=row.code, level=row.level, name=row.name)


def scope_for(conn: Connection, region_code: str | None = None) -> Scope:
    """The scope of a region code; without a code, the whole city."""
    if region_code is None:
        return city_scope(conn)
    row = conn.execute(
        sa.select(regions.c.code, regions.c.level, regions.c.name).where(regions.c.code == region_code)
    ).first()
    if row is None:
        raise UnknownRegion(f"区划代码 {region_code} 不存在，请检查代码（县区 6 位，乡镇 9 位）。")
    return Scope(region_code=row.code, level=row.level, name=row.name)


def code_in_scope(column: sa.ColumnElement[str], scope: Scope) -> sa.ColumnElement[bool]:
    """Restrict a region-code column (of regions, meetings, draws...) to the scope's
    region and the regions below it, following the region tree (not code prefixes)."""
    if scope.level == "township":
        return column == scope.region_code
    children = sa.select(regions.c.code).where(regions.c.parent_code == scope.region_code)
    below = [regions.c.code == scope.region_code, regions.c.parent_code == scope.region_code]
    if scope.level == "city":
        below.append(regions.c.parent_code.in_(children.scalar_subquery()))
    return column.in_(sa.select(regions.c.code).where(sa.or_(*below)).scalar_subquery())


def scope_condition(scope: Scope, table: sa.Table = cases) -> sa.ColumnElement[bool]:
    """Restrict a table with county_code/township_code columns to the scope."""
    if scope.level == "township":
        return table.c.township_code == scope.region_code
    if scope.level == "county":
        return table.c.county_code == scope.region_code
    # The counties whose parent is the city: an indexed IN, and right for any code scheme.
    return table.c.county_code.in_(
        sa.select(regions.c.code).where(regions.c.parent_code == scope.region_code).scalar_subquery()
    )


def region_in_scope(conn: Connection, scope: Scope, region_code: str | None) -> bool:
    """Whether a region (county, township, or the city itself) lies in the scope."""
    if not region_code:
        return False
    return conn.execute(
        sa.select(sa.func.count()).select_from(regions)
        .where(regions.c.code == region_code, code_in_scope(regions.c.code, scope))
    ).scalar_one() > 0


def case_in_scope(conn: Connection, scope: Scope, case_id: int) -> bool:
    """Whether a case lies in the scope."""
    return conn.execute(
        sa.select(sa.func.count()).select_from(cases).where(cases.c.id == case_id, scope_condition(scope))
    ).scalar_one() > 0
