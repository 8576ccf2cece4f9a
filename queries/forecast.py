"""Backlog clearance forecast (积案清零) for the scope and each county in it: the weekly
unresolved backlog, the pace and the projected zero date (`dashboard.forecast`), against
each county's target date (`backlog_targets`, default the end of the year)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import forecast as method
from dashboard.models import backlog_targets, cases, regions
from queries.filters import Filters, Scope, scope_condition

COLUMNS = ["region", "region_name", "level", "unresolved", "weekly_pace", "pace_se", "projected_zero_date",
           "low", "high", "target_date", "target_set", "on_track"]


def _backlog(conn: Connection, scope: Scope, as_of: dt.date) -> pd.DataFrame:
    rows = conn.execute(sa.select(cases.c.county_code, cases.c.township_code, cases.c.registered_on,
                                  cases.c.resolved_on)
                        .where(scope_condition(scope), cases.c.is_backlog.is_(True),
                               cases.c.registered_on <= as_of)).all()
    return pd.DataFrame(rows, columns=["county_code", "township_code", "registered_on", "resolved_on"])


def _regions(conn: Connection, scope: Scope) -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, county whose target applies) of the scope and its counties."""
    own = conn.execute(sa.select(regions.c.code, regions.c.name, regions.c.level, regions.c.parent_code)
                       .where(regions.c.code == scope.region_code)).one()
    out = [(own.code, own.name, own.level, own.parent_code if own.level == "township" else own.code)]
    if scope.level == "city":
        rows = conn.execute(sa.select(regions.c.code, regions.c.name).where(
            regions.c.parent_code == scope.region_code, regions.c.level == "county").order_by(regions.c.code)).all()
        out += [(r.code, r.name, "county", r.code) for r in rows]
    return out


def weekly_backlog(conn: Connection, scope: Scope, filters: Filters, as_of: dt.date | None = None,
                   weeks: int = method.WEEKS) -> pd.DataFrame:
    """Unresolved backlog at each week end (long form: region, region_name, week_end, unresolved)."""
    as_of = as_of or filters.as_of
    frame = _backlog(conn, scope, as_of)
    ends = method.week_ends(as_of, weeks)
    rows = []
    for code, name, level, _ in _regions(conn, scope):
        part = frame if level == "city" else frame[frame[f"{'township' if level == 'township' else 'county'}_code"]
                                                   == code]
        levels = method.levels_at(part["registered_on"].tolist(), part["resolved_on"].tolist(), ends)
        rows += [{"region": code, "region_name": name, "level": level, "week_end": end, "unresolved": value}
                 for end, value in zip(ends, levels, strict=True)]
    return pd.DataFrame(rows, columns=["region", "region_name", "level", "week_end", "unresolved"])


def clearance_forecast(conn: Connection, scope: Scope, filters: Filters, as_of: dt.date | None = None) -> pd.DataFrame:
    """One row for the scope's region and one per county in it: unresolved backlog, weekly
    pace (net of new backlog), projected zero date with its band, target date (set or
    the default end of year) and whether the pace reaches it. Counties that miss their
    target come first (then the latest projected date), after the scope's own row."""
    as_of = as_of or filters.as_of
    weekly = weekly_backlog(conn, scope, filters, as_of)
    targets = dict(conn.execute(sa.select(backlog_targets.c.region_code, backlog_targets.c.target_date)).all())
    rows = []
    for code, name, level, target_of in _regions(conn, scope):
        levels = weekly.loc[weekly["region"] == code, "unresolved"].tolist()
        target = targets.get(target_of) or targets.get(code)
        result = method.forecast(levels, as_of, target or method.default_target(as_of))
        rows.append({"region": code, "region_name": name, "level": level, "unresolved": result.unresolved,
                     "weekly_pace": result.weekly_pace, "pace_se": result.pace_se,
                     "projected_zero_date": result.projected_zero_date, "low": result.low, "high": result.high,
                     "target_date": result.target_date, "target_set": target is not None,
                     "on_track": result.on_track})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if len(frame) <= 1:
        return frame
    head, rest = frame.iloc[:1], frame.iloc[1:].copy()
    rest["_late"] = rest["projected_zero_date"].map(lambda d: d or dt.date.max)
    rest = rest.sort_values(["on_track", "_late", "region"], ascending=[True, False, True]).drop(columns="_late")
    return pd.concat([head, rest], ignore_index=True)
