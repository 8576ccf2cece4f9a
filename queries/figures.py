"""Every indicator of a period in one dict: the `kpi --json` figures.

One home for the set, so the command line and the monthly bulletin print the same
numbers: the core indicators (`queries.kpi`), the accountability loop's
(`queries.accountability`) and the handling indicators (`queries.indicators_extra`).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from dashboard.scope import Scope
from queries.accountability import accountability_indicators
from queries.filters import Filters
from queries.indicators_extra import extra_indicators
from queries.kpi import indicators


def all_indicators(conn: Connection, scope: Scope, filters: Filters) -> dict:
    result = indicators(conn, scope, filters)
    result.update(accountability_indicators(conn, scope, filters))
    result.update(extra_indicators(conn, scope, filters))
    return result
