"""Rankings (赛马晾晒): counties or townships ranked on the §6 rates, with the rank
change against the previous month's ranking (see `comparison_period`)."""

from __future__ import annotations

import calendar
import datetime as dt

import pandas as pd
from sqlalchemy.engine import Connection

from queries.filters import Filters, Scope
from queries.kpi import _indicators_by_region

# metric -> (Chinese name, higher is better)
METRICS = {
    "timely_acceptance_rate": ("及时受理率", True),
    "on_time_closure_rate": ("按期办结率", True),
    "backlog_resolution_rate": ("积案化解率", True),
    "satisfaction_rate": ("满意率", True),
    "backlog_per_10k": ("每万人未化解积案", False),
}

YEAR_TO_DATE, SHIFTED = "year_to_date", "shifted"


def month_back(day: dt.date) -> dt.date:
    """The same day one calendar month earlier; a month's last day goes to the previous
    month's last day, and a day the previous month lacks is clamped to its end
    (31 Mar → 28/29 Feb, 30 Jun → 31 May, 15 Jun → 15 May)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    last = calendar.monthrange(year, month)[1]
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        return dt.date(year, month, last)
    return dt.date(year, month, min(day.day, last))


def comparison_period(filters: Filters) -> tuple[Filters | None, str]:
    """The period whose ranking the rank change is measured against, and its kind.

    A period starting on 1 January is a year-to-date figure: it is compared with the
    same start up to the end of the previous month (上月末累计), e.g. 1 Jan–30 Jun with
    1 Jan–31 May; in January there is no such period (None). Any other period is
    compared with the same period one calendar month earlier (`month_back` of both ends).
    """
    start, end = filters.period
    if start.month == 1 and start.day == 1:
        previous_end = end.replace(day=1) - dt.timedelta(days=1)
        if previous_end < start:
            return None, YEAR_TO_DATE
        return filters.with_period(start, previous_end), YEAR_TO_DATE
    return filters.with_period(month_back(start), month_back(end)), SHIFTED


def describe_comparison(filters: Filters) -> str:
    """The comparison period in words, for the page caption."""
    previous, kind = comparison_period(filters)
    if previous is None:
        return "名次变化：本期为 1 月内的年初累计，没有上月末累计可比"
    start, end = previous.period
    what = "上月末累计" if kind == YEAR_TO_DATE else "上月同期"
    return f"名次变化对比{what}（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）"


def _ranks(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Competition ranks (1, 2, 2, 4) on the exact values; regions without a value rank
    after the others."""
    return values.rank(ascending=not higher_is_better, method="min", na_option="keep").astype("Int64")


def ranking(conn: Connection, scope: Scope, filters: Filters, level: str, metric: str) -> pd.DataFrame:
    """Regions of `level` in scope ranked on `metric`, best first, with the rank in the
    comparison period and the change (positive: moved up). Values are exact (the page
    rounds them for display)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric}")
    higher = METRICS[metric][1]
    now = _indicators_by_region(conn, scope, filters, level, colors=False)  # no metric is a color
    out = now[["code", "name", "parent_code", metric]].rename(columns={metric: "value"})
    out["rank"] = _ranks(out["value"], higher)
    previous_filters, _ = comparison_period(filters)
    if previous_filters is None:
        out["previous_value"] = float("nan")
        out["previous_rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
    else:
        before = _indicators_by_region(conn, scope, previous_filters, level, colors=False).set_index("code")[metric]
        out["previous_value"] = out["code"].map(before).astype("float64")
        out["previous_rank"] = out["code"].map(_ranks(before, higher)).astype("Int64")
    out["change"] = (out["previous_rank"] - out["rank"]).astype("Int64")
    return out.sort_values(["rank", "code"], na_position="last").reset_index(drop=True)
