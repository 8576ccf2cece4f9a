"""The early-warning rule (一单三推): pure statistics on counts, no database.

For every cell (a township × a domain, or a township × 集体访 / 越级访) and each window
of w = 7 and 30 days ending on the day D:

* observed O: cases registered in the w days D-w+1 … D;
* baseline B: cases registered in the 365 days before the window (D-w-364 … D-w);
* seasonal factor s: the same comparison one year earlier for the whole city, i.e. the
  city's count in the w days ending on D-365 divided by its count in the 365 days
  before those, times 365/w. It carries the season (and the city's trend) into the
  expectation; clamped to [0.5, 2]; 1 when the history is shorter than two years;
* expected E = (B + 0.5) × w / 365 × s (shown, and used for the minimum ratio; the
  half case keeps E above 0 for a cell with an empty baseline);
* p-value: the one-sided conditional test of two Poisson rates. If the window's rate
  is the baseline's (times s), then given the n = O + B cases of the cell, O follows a
  binomial law with n trials and probability q = w·s / (w·s + 365); p = P(Bin(n, q) ≥ O).
  Unlike a Poisson test against E it allows for the baseline being itself a count (an
  estimate), which keeps the false-alarm rate at the stated level for small cells.

A cell is flagged when O ≥ the minimum count, O ≥ ratio × E and p ≤ α / m, where m is
the number of cells tested that day for that window (Bonferroni: the chance of any false
warning in the whole city on a day, for one window, is at most α). On a day inside a
sensitive period (entered by the bureau or an administrator) the thresholds are lower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOWS = (7, 30)
BASELINE_DAYS = 365
SEASONAL_LIMITS = (0.5, 2.0)
PRIOR_CASES = 0.5


@dataclass(frozen=True)
class Thresholds:
    alpha: float  # family-wise level per day and window (Bonferroni over the cells)
    min_count: dict  # window days -> minimum observed count
    min_ratio: float  # observed at least this multiple of expected


NORMAL = Thresholds(alpha=0.01, min_count={7: 3, 30: 5}, min_ratio=1.5)
SENSITIVE = Thresholds(alpha=0.05, min_count={7: 2, 30: 3}, min_ratio=1.2)


def thresholds(sensitive: bool) -> Thresholds:
    return SENSITIVE if sensitive else NORMAL


def poisson_upper_tail(observed: int, expected: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(expected): the regularized lower incomplete gamma
    P(observed, expected), summed as a series (accurate for tiny tails)."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    k, mu = int(observed), float(expected)
    if mu > k + 50 * math.sqrt(k + 1):  # far in the body: the tail is 1 to double precision
        return 1.0
    log_first = -mu + k * math.log(mu) - math.lgamma(k + 1)
    total, term, n = 1.0, 1.0, 1
    while n < 100_000:
        term *= mu / (k + n)
        total += term
        if term < total * 1e-16:
            break
        n += 1
    return min(1.0, math.exp(log_first + math.log(total)))


def binomial_upper_tail(observed: int, trials: int, probability: float) -> float:
    """P(X ≥ observed) for X ~ Binomial(trials, probability), summed in log space."""
    if observed <= 0:
        return 1.0
    if observed > trials or probability <= 0:
        return 0.0
    if probability >= 1:
        return 1.0
    log_p, log_q = math.log(probability), math.log1p(-probability)
    base = math.lgamma(trials + 1)
    logs = [base - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + k * log_p + (trials - k) * log_q
            for k in range(observed, trials + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def seasonal_factor(city_daily: pd.Series, day: pd.Timestamp | object, window: int) -> float:
    """The city's season-and-trend factor for a window ending on `day` (see the module
    docstring). `city_daily`: cases per day indexed by date (missing days are 0)."""
    day = pd.Timestamp(day)
    if city_daily.empty or pd.Timestamp(city_daily.index.min()) > day - pd.Timedelta(days=365 + window + 364):
        return 1.0
    end_before = day - pd.Timedelta(days=365)
    index = pd.to_datetime(city_daily.index)
    values = city_daily.to_numpy(dtype=float)
    window_count = values[(index > end_before - pd.Timedelta(days=window)) & (index <= end_before)].sum()
    base_end = end_before - pd.Timedelta(days=window)
    base_count = values[(index > base_end - pd.Timedelta(days=BASELINE_DAYS)) & (index <= base_end)].sum()
    if base_count <= 0:
        return 1.0
    factor = (window_count / window) / (base_count / BASELINE_DAYS)
    return float(min(max(factor, SEASONAL_LIMITS[0]), SEASONAL_LIMITS[1]))


def expected_count(baseline: float, window: int, seasonal: float = 1.0) -> float:
    return (baseline + PRIOR_CASES) * window / BASELINE_DAYS * seasonal


def evaluate_cells(observed, baseline, window: int, *, seasonal: float = 1.0, sensitive: bool = False,
               tests: int | None = None) -> pd.DataFrame:
    """Apply the rule to cells (arrays of observed and baseline counts) for one window.
    `tests`: the number m of the Bonferroni correction (default: the number of cells).
    Returns expected, p_value, level (α/m) and flagged per cell."""
    observed = np.asarray(observed, dtype=np.int64)
    baseline = np.asarray(baseline, dtype=float)
    rule = thresholds(sensitive)
    m = max(int(tests if tests is not None else len(observed)), 1)
    level = rule.alpha / m
    expected = expected_count(baseline, window, seasonal)
    q = window * seasonal / (window * seasonal + BASELINE_DAYS)
    p_values = np.array([binomial_upper_tail(int(o), int(o + b), q) for o, b in zip(observed, baseline, strict=True)])
    flagged = (observed >= rule.min_count[window]) & (observed >= rule.min_ratio * expected) & (p_values <= level)
    return pd.DataFrame({"observed": observed, "baseline": baseline, "expected": expected,
                         "p_value": p_values, "level": level, "flagged": flagged})


def scan(events: pd.DataFrame, day, *, city_daily: pd.Series | None = None, sensitive: bool = False,
         cells: pd.DataFrame | None = None, windows=WINDOWS) -> pd.DataFrame:
    """Every cell and window on `day`. `events`: one row per case with columns `region`,
    `domain` (the cell) and `day` (registration date), covering at least the 365 + 30
    days before `day`. `cells`: all cells to test (region, domain), so that quiet cells
    count in m; default: the cells present in `events`. `city_daily`: the city's cases
    per day for the seasonal factor (default: from `events`).

    Returns one row per cell and window: region, domain, window_days, observed, baseline,
    seasonal, expected, p_value, level, flagged, sensitive."""
    day = pd.Timestamp(day)
    frame = events[["region", "domain", "day"]].copy()
    frame["day"] = pd.to_datetime(frame["day"])
    if city_daily is None:
        city_daily = frame.groupby("day").size()
    if cells is None:
        cells = frame[["region", "domain"]].drop_duplicates()
    cells = cells[["region", "domain"]].drop_duplicates().reset_index(drop=True)
    out = []
    for window in windows:
        window_start = day - pd.Timedelta(days=window - 1)
        base_start = window_start - pd.Timedelta(days=BASELINE_DAYS)
        recent = frame[(frame["day"] >= window_start) & (frame["day"] <= day)]
        base = frame[(frame["day"] >= base_start) & (frame["day"] < window_start)]
        table = cells.copy()
        table = table.merge(recent.groupby(["region", "domain"]).size().rename("observed").reset_index(),
                            on=["region", "domain"], how="left")
        table = table.merge(base.groupby(["region", "domain"]).size().rename("baseline").reset_index(),
                            on=["region", "domain"], how="left")
        table[["observed", "baseline"]] = table[["observed", "baseline"]].fillna(0)
        seasonal = seasonal_factor(city_daily, day, window)
        result = evaluate_cells(table["observed"], table["baseline"], window, seasonal=seasonal,
                            sensitive=sensitive, tests=len(table))
        result.insert(0, "region", table["region"])
        result.insert(1, "domain", table["domain"])
        result.insert(2, "window_days", window)
        result["seasonal"] = seasonal
        result["sensitive"] = sensitive
        out.append(result)
    columns = ["region", "domain", "window_days", "observed", "baseline", "seasonal", "expected", "p_value",
               "level", "flagged", "sensitive"]
    if not out:
        return pd.DataFrame(columns=columns)
    return pd.concat(out, ignore_index=True)[columns]


def in_sensitive_period(day, periods) -> bool:
    """Whether `day` lies in one of `periods` ((start, end) pairs, both days included)."""
    day = pd.Timestamp(day).date()
    return any(start <= day <= end for start, end in periods)
