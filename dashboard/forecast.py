"""Backlog clearance forecast (积案清零): pure arithmetic on a weekly series.

Method (stated in the README):

* the series: the unresolved backlog at the end of each of the last N + 1 weeks
  (week ends every 7 days back from the as-of day; N = 12 by default);
* the pace: an ordinary least-squares line through those N + 1 levels against the week
  number; the weekly pace is minus its slope (cases cleared per week, net of backlog
  cases that arrived), with the slope's standard error
  se = sqrt(Σ residual² / (N − 1) / Σ (t − t̄)²);
* the projected zero date: today's backlog U divided by the pace, in weeks from the
  as-of day (rounded up to a whole day). No date when the pace is 0 or negative (the
  backlog is not falling). Zero backlog today: the as-of day itself;
* the band (about 95%): the same division with the pace ± 1.96 se: `low` (the earliest
  date) uses pace + 1.96 se, `high` (the latest) pace − 1.96 se, and has no date when
  pace − 1.96 se ≤ 0 (at the slow end of the band the backlog would not clear);
* on track: a projected date on or before the target date.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

WEEKS = 12
Z = 1.96


@dataclass(frozen=True)
class Forecast:
    unresolved: int
    weekly_pace: float  # cleared per week, net (positive: the backlog falls)
    pace_se: float
    projected_zero_date: dt.date | None
    low: dt.date | None
    high: dt.date | None
    target_date: dt.date | None
    on_track: bool | None  # None without a target


def week_ends(as_of: dt.date, weeks: int = WEEKS) -> list[dt.date]:
    """The N + 1 week ends, oldest first, the last being `as_of`."""
    return [as_of - dt.timedelta(days=7 * k) for k in range(weeks, -1, -1)]


def fit_pace(levels) -> tuple[float, float]:
    """(weekly pace, its standard error) from the weekly levels, oldest first."""
    y = np.asarray(levels, dtype=float)
    if len(y) < 2:
        return 0.0, 0.0
    t = np.arange(len(y), dtype=float)
    t_centered = t - t.mean()
    sxx = float((t_centered ** 2).sum())
    slope = float((t_centered * (y - y.mean())).sum() / sxx)
    if len(y) < 3:
        return -slope, 0.0
    residuals = y - (y.mean() + slope * t_centered)
    se = math.sqrt(float((residuals ** 2).sum()) / (len(y) - 2) / sxx)
    return -slope, se


def _date_after(as_of: dt.date, unresolved: int, pace: float) -> dt.date | None:
    if unresolved <= 0:
        return as_of
    if pace <= 0:
        return None
    days = math.ceil(unresolved / pace * 7 - 1e-9)
    try:
        return as_of + dt.timedelta(days=days)
    except OverflowError:
        return None


def forecast(levels, as_of: dt.date, target_date: dt.date | None) -> Forecast:
    """The forecast from the weekly levels (oldest first, the last at `as_of`)."""
    levels = [int(v) for v in levels]
    unresolved = levels[-1] if levels else 0
    pace, se = fit_pace(levels)
    projected = _date_after(as_of, unresolved, pace)
    low = _date_after(as_of, unresolved, pace + Z * se)
    high = _date_after(as_of, unresolved, pace - Z * se)
    if unresolved <= 0:
        low = high = as_of
    on_track = None if target_date is None else (projected is not None and projected <= target_date)
    return Forecast(unresolved, pace, se, projected, low, high, target_date, on_track)


def default_target(as_of: dt.date) -> dt.date:
    """Without a target set: the end of the current year."""
    return dt.date(as_of.year, 12, 31)


def levels_at(registered, resolved, ends: list[dt.date]) -> list[int]:
    """Unresolved backlog at each day of `ends`: registered by then and not resolved by
    then (`resolved` None: not yet)."""
    reg = np.array([np.datetime64(d) for d in registered], dtype="datetime64[D]") if len(registered) else \
        np.array([], dtype="datetime64[D]")
    res = np.array([np.datetime64(d) if d is not None else np.datetime64("NaT") for d in resolved],
                   dtype="datetime64[D]") if len(resolved) else np.array([], dtype="datetime64[D]")
    out = []
    for end in ends:
        e = np.datetime64(end)
        open_ = (reg <= e) & (np.isnat(res) | (res > e))
        out.append(int(open_.sum()))
    return out
