"""Recent surges in the sample city, so that the early warnings (dashboard.warnings_rule)
have something to find on the first run.

The generator's cases are steady noise around a trend, which the rule (rightly) does
not flag. Here a few of the cases registered in the last days are moved, within their
county and keeping their dates, to one township and domain (and a few made collective
visits), as a real rise would look. The total and every case's county and dates stay
as generated; the moves are deterministic (cases taken in id order).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import case_units, cases, regions, units

# (county, township position in the county's code order, domain, window days, cases moved)
SURGES = (
    ("990121", 3, "land", 7, 12),  # 临江县: land requisition, a sharp rise this week
    ("990102", 2, "housing", 30, 30),  # 云溪区: housing (delivery of flats), rising for a month
    ("990124", 5, "labor", 7, 10),  # 桐源县: unpaid wages before the year end
)
# (county, township position, cases made collective visits in the last 7 days)
COLLECTIVE = (("990122", 4, 4),)
# The moves touch only cases registered in the last DAYS days (their deadlines are recomputed).
DAYS = max(window for *_, window, _count in SURGES)


def _township(conn: Connection, county: str, position: int) -> tuple[str, str]:
    rows = conn.execute(sa.select(regions.c.code, regions.c.name).where(regions.c.parent_code == county)
                        .order_by(regions.c.code)).all()
    row = rows[min(position, len(rows) - 1)]
    return row.code, row.name


def _move(conn: Connection, case_id: int, township: str, name: str) -> None:
    old = conn.execute(sa.select(cases.c.township_code, cases.c.summary).where(cases.c.id == case_id)).one()
    old_name = conn.execute(sa.select(regions.c.name).where(regions.c.code == old.township_code)).scalar()
    unit = conn.execute(sa.select(units.c.id).where(units.c.region_code == township,
                                                    units.c.kind == "township_gov")).scalar()
    summary = (old.summary or "").replace(old_name or "\0", name)
    conn.execute(cases.update().where(cases.c.id == case_id).values(
        township_code=township, summary=summary, **({"responsible_unit_id": unit} if unit else {})))
    if unit:
        conn.execute(case_units.update().where(case_units.c.case_id == case_id, case_units.c.role == "territory")
                     .values(unit_id=unit))


def inject(conn: Connection, until: dt.date) -> int:
    """Make the surges ending on `until`; returns the number of cases changed."""
    changed = 0
    for county, position, domain, window, count in SURGES:
        township, name = _township(conn, county, position)
        start = until - dt.timedelta(days=window - 1)
        ids = conn.execute(sa.select(cases.c.id).where(
            cases.c.county_code == county, cases.c.registered_on.between(start, until),
            sa.or_(cases.c.township_code != township, cases.c.domain != domain),
        ).order_by(cases.c.id).limit(count)).scalars().all()
        for case_id in ids:
            _move(conn, case_id, township, name)
            conn.execute(cases.update().where(cases.c.id == case_id).values(domain=domain))
        changed += len(ids)
    for county, position, count in COLLECTIVE:
        township, name = _township(conn, county, position)
        start = until - dt.timedelta(days=6)
        ids = conn.execute(sa.select(cases.c.id).where(
            cases.c.county_code == county, cases.c.registered_on.between(start, until),
            cases.c.is_collective.is_(False), cases.c.is_backlog.is_(False),
        ).order_by(cases.c.id).limit(count)).scalars().all()
        for i, case_id in enumerate(ids):
            _move(conn, case_id, township, name)
            conn.execute(cases.update().where(cases.c.id == case_id).values(
                channel="visit", persons=6 + 3 * i, is_collective=True))
        changed += len(ids)
    return changed
