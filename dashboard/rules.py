"""Supervision rules: which stage an open case is in, its current deadline, its color.

This is the single implementation of the three-color rule (domain.md §5). Every page,
the `kpi` command and the supervision list call `assign_colors`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

COLOR_ORDER = ("red", "yellow", "green")


@dataclass(frozen=True)
class ColorRule:
    """Thresholds of the three-color rule; the defaults are the city default of §5."""

    yellow_days_left: int = 5  # yellow when this many days or fewer are left
    yellow_used_share: float = 0.8  # yellow when this share of the limit or more is used
    red_past_deadline: bool = True
    red_backlog_past_target: bool = True


DEFAULT_RULE = ColorRule()

# Columns `assign_colors` needs; queries select exactly these for open cases.
RULE_COLUMNS = (
    "registered_on",
    "accepted_on",
    "acceptance_due",
    "handling_due",
    "closed_on",
    "resolved_on",
    "is_backlog",
    "clearance_target",
)


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def assign_colors(
    frame: pd.DataFrame, as_of: dt.date, rule: ColorRule = DEFAULT_RULE
) -> pd.DataFrame:
    """Return a copy of `frame` (open cases) with stage, deadline, days_left, color.

    stage: `acceptance` until accepted, then `handling`; a backlog case that is closed
    but not resolved stays on the clearance list (`clearance`) with its clearance target
    as deadline. Cases closed and not open as backlog get no color (None).
    """
    out = frame.copy()
    if out.empty:
        for column in ("stage", "deadline", "days_left", "color"):
            out[column] = pd.Series(dtype="object")
        return out
    today = pd.Timestamp(as_of)
    registered = _dates(out["registered_on"])
    accepted = _dates(out["accepted_on"])
    acceptance_due = _dates(out["acceptance_due"])
    handling_due = _dates(out["handling_due"])
    closed = _dates(out["closed_on"])
    resolved = _dates(out["resolved_on"])
    target = _dates(out["clearance_target"])
    backlog = out["is_backlog"].fillna(False).astype(bool)

    is_closed = closed.notna() & (closed <= today)
    is_resolved = resolved.notna() & (resolved <= today)
    in_acceptance = ~is_closed & (accepted.isna() | (accepted > today))
    in_handling = ~is_closed & ~in_acceptance
    in_clearance = is_closed & backlog & ~is_resolved
    has_color = ~is_closed | in_clearance

    stage = np.select(
        [in_acceptance, in_handling, in_clearance], ["acceptance", "handling", "clearance"], None
    )
    deadline = acceptance_due.where(in_acceptance, handling_due.where(in_handling, target))
    start = registered.where(in_acceptance, accepted.where(in_handling, pd.NaT))
    days_left = (deadline - today).dt.days
    limit_days = (deadline - start).dt.days
    used_days = (today - start).dt.days
    used_share = np.where(limit_days > 0, used_days / limit_days.where(limit_days > 0, 1), 1.0)
    used_share = pd.Series(used_share, index=out.index).where(start.notna() & deadline.notna())

    red = pd.Series(False, index=out.index)
    if rule.red_past_deadline:
        red |= days_left.notna() & (days_left < 0)
    if rule.red_backlog_past_target:
        red |= backlog & ~is_resolved & target.notna() & (target < today)
    yellow = (days_left.notna() & (days_left <= rule.yellow_days_left)) | (
        used_share.notna() & (used_share >= rule.yellow_used_share)
    )
    color = np.where(red, "red", np.where(yellow, "yellow", "green"))

    out["stage"] = pd.Series(stage, index=out.index).where(has_color, None)
    out["deadline"] = deadline.dt.date.where(deadline.notna(), None)
    out["days_left"] = days_left.astype("Int64").where(has_color)
    out["color"] = pd.Series(color, index=out.index, dtype="object").where(has_color, None)
    return out


def count_colors(colored: pd.DataFrame) -> dict[str, int]:
    """{"red": n, "yellow": n, "green": n} from a frame returned by `assign_colors`."""
    counts = colored["color"].value_counts() if not colored.empty else {}
    return {color: int(counts.get(color, 0)) for color in COLOR_ORDER}
