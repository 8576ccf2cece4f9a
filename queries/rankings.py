"""Rankings (赛马晾晒): counties or townships ranked on the §6 rates, with the rank
change against the same period one month earlier."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from queries.filters import Filters, Scope
from queries.kpi import indicators_by_region

# metric -> (Chinese name, higher is better)
METRICS = {
    "timely_acceptance_rate": ("及时受理率", True),
    "on_time_closure_rate": ("按期办结率", True),
    "backlog_resolution_rate": ("积案化解率", True),
    "satisfaction_rate": ("满意率", True),
    "backlog_per_10k": ("每万人未化解积案", False),
}


def previous_month(filters: Filters) -> Filters:
    """The same period moved back one month (end-of-month days are clipped)."""
    start, end = filters.period
    shift = pd.DateOffset(months=1)
    return filters.with_period((pd.Timestamp(start) - shift).date(), (pd.Timestamp(end) - shift).date())


def _ranks(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Competition ranks (1, 2, 2, 4); regions without a value rank after the others."""
    return values.rank(ascending=not higher_is_better, method="min", na_option="keep").astype("Int64")


def ranking(conn: Connection, scope: Scope, filters: Filters, level: str, metric: str) -> pd.DataFrame:
    """Regions of `level` in scope ranked on `metric`, best first, with last month's
    rank and the change (positive: moved up)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric}")
    higher = METRICS[metric][1]
    now = indicators_by_region(conn, scope, filters, level)
    before = indicators_by_region(conn, scope, previous_month(filters), level)
    out = now[["code", "name", "parent_code", metric]].rename(columns={metric: "value"})
    out["rank"] = _ranks(out["value"], higher)
    previous = before.set_index("code")[metric]
    out["previous_value"] = out["code"].map(previous)
    out["previous_rank"] = out["code"].map(_ranks(previous, higher))
    out["change"] = (out["previous_rank"] - out["rank"]).astype("Int64")
    return out.sort_values(["rank", "code"], na_position="last").reset_index(drop=True)
