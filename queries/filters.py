"""The shared sidebar filters and the case conditions built from them with the caller's
scope (whose one home is `dashboard.scope`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import sqlalchemy as sa

from dashboard import config
from dashboard.models import cases
from dashboard.scope import (  # noqa: F401  (re-exported: queries take the scope type from here)
    Scope,
    UnknownRegion,
    code_in_scope,
    scope_condition,
    scope_for,
)


@dataclass(frozen=True)
class Filters:
    """Sidebar filters shared by every page. Empty tuples mean "all"."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    county_code: str | None = None
    township_code: str | None = None
    domains: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """(from, to); default: the current year to date."""
        end = self.date_to or config.today()
        start = self.date_from or dt.date(end.year, 1, 1)
        return start, end

    @property
    def as_of(self) -> dt.date:
        """Snapshot date for backlog and colors: the end of the period."""
        return self.period[1]

    def with_period(self, start: dt.date, end: dt.date) -> Filters:
        return replace(self, date_from=start, date_to=end)


def case_conditions(
    scope: Scope, filters: Filters, *, period: bool = True
) -> list[sa.ColumnElement[bool]]:
    """Scope + sidebar filters on the cases table; `period` adds registration in period."""
    conditions = [scope_condition(scope)]
    if filters.county_code:
        conditions.append(cases.c.county_code == filters.county_code)
    if filters.township_code:
        conditions.append(cases.c.township_code == filters.township_code)
    if filters.domains:
        conditions.append(cases.c.domain.in_(filters.domains))
    if filters.channels:
        conditions.append(cases.c.channel.in_(filters.channels))
    if period:
        start, end = filters.period
        conditions.append(cases.c.registered_on.between(start, end))
    return conditions


def open_condition(as_of: dt.date) -> sa.ColumnElement[bool]:
    """Cases that carry a color on `as_of`: registered by then and not closed by then,
    or backlog cases not resolved by then (they stay on the clearance list).

    Written as `id IN (… UNION …)` so that each part searches its own index; the plain
    OR makes the database read every case of the scope (5x slower at a city's scale)."""
    inner = cases.alias("open_case")
    not_closed = sa.select(inner.c.id).where(sa.or_(inner.c.closed_on.is_(None), inner.c.closed_on > as_of))
    unresolved_backlog = sa.select(inner.c.id).where(
        inner.c.is_backlog.is_(True), sa.or_(inner.c.resolved_on.is_(None), inner.c.resolved_on > as_of))
    return sa.and_(cases.c.registered_on <= as_of, cases.c.id.in_(sa.union(not_closed, unresolved_backlog)))


def unresolved_backlog_condition(as_of: dt.date) -> sa.ColumnElement[bool]:
    """Backlog cases registered by `as_of` and not resolved by then."""
    return sa.and_(
        cases.c.is_backlog.is_(True),
        cases.c.registered_on <= as_of,
        sa.or_(cases.c.resolved_on.is_(None), cases.c.resolved_on > as_of),
    )
