"""Supervision rules: which stage an open case is in, its current deadline, its color.

This is the single implementation of the three-color rule (domain.md §5). Every page,
the `kpi` command and the supervision list call `assign_colors` with the rules loaded
from the database by `load_rules` (per county, city default from §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import color_rules, regions

COLOR_ORDER = ("red", "yellow", "green")


@dataclass(frozen=True)
class ColorRule:
    """Thresholds of the three-color rule; the defaults are the city default of §5."""

    yellow_days_left: int = 5  # yellow when this many days or fewer are left
    yellow_used_share: float = 0.8  # yellow when this share of the limit or more is used
    red_past_deadline: bool = True
    red_backlog_past_target: bool = True


DEFAULT_RULE = ColorRule()


@dataclass(frozen=True)
class RuleBook:
    """The color rule of every county: its own thresholds, else the city default."""

    default: ColorRule = DEFAULT_RULE
    by_region: dict[str, ColorRule] = field(default_factory=dict)

    def for_county(self, county_code: str | None) -> ColorRule:
        return self.by_region.get(county_code or "", self.default)


def load_rules(conn: Connection) -> RuleBook:
    """Thresholds stored in `color_rules`: a city row sets the default, county rows
    override it for their county."""
    rows = conn.execute(
        sa.select(color_rules, regions.c.level).join(regions, regions.c.code == color_rules.c.region_code)
    ).mappings().all()
    default, by_region = DEFAULT_RULE, {}
    for row in rows:
        rule = ColorRule(**{f.name: row[f.name] for f in fields(ColorRule)})
        if row["level"] == "city":
            default = rule
        else:
            by_region[row["region_code"]] = rule
    return RuleBook(default, by_region)


def save_rule(conn: Connection, region_code: str, rule: ColorRule | None, *, by: str) -> None:
    """Store a region's thresholds (None removes a county's own rule)."""
    if rule is not None:
        if not 0 <= rule.yellow_days_left <= 60:
            raise ValueError("黄色提醒天数应在 0 至 60 之间。")
        if not 0 < rule.yellow_used_share <= 1:
            raise ValueError("黄色时限占比应大于 0、不超过 100%。")
    conn.execute(color_rules.delete().where(color_rules.c.region_code == region_code))
    if rule is not None:
        conn.execute(color_rules.insert().values(
            region_code=region_code, updated_by=by, updated_at=dt.datetime.now(), **asdict(rule)))
    from dashboard import summaries  # the stored colors follow the new thresholds

    summaries.refresh_colors_for_region(conn, region_code)


# Columns `assign_colors` needs; queries select exactly these for open cases.
RULE_COLUMNS = (
    "county_code",
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


def _thresholds(frame: pd.DataFrame, rules: ColorRule | RuleBook) -> pd.DataFrame:
    """One row of thresholds per case, from its county's rule."""
    if isinstance(rules, ColorRule):
        rules = RuleBook(rules)
    if "county_code" not in frame or not rules.by_region:
        return pd.DataFrame([asdict(rules.default)] * len(frame), index=frame.index)
    counties = frame["county_code"].fillna("").astype(str)
    table = {code: asdict(rules.for_county(code)) for code in counties.unique()}
    return pd.DataFrame([table[code] for code in counties], index=frame.index)


def assign_colors(
    frame: pd.DataFrame, as_of: dt.date, rules: ColorRule | RuleBook = DEFAULT_RULE
) -> pd.DataFrame:
    """Return a copy of `frame` with stage, deadline, days_left, color (domain.md §5).

    A case carries a color while it is not closed, and a backlog case also while it is
    not resolved (it stays on the clearance list). Its deadlines still running are the
    procedural one while it is not closed (`acceptance` until accepted, then
    `handling`) and, for an unresolved backlog case, its clearance target
    (`clearance`). Its current deadline is the earliest of them and the stage is the
    one whose deadline it is (the procedural one on a tie). Red: past the procedural
    deadline, or a backlog case past its clearance target (each as the county's rule
    says). Yellow: few days left or much of the limit used on the current deadline.
    Closed cases that are not unresolved backlog get no color (None).
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
    limits = _thresholds(out, rules)

    is_closed = closed.notna() & (closed <= today)
    is_resolved = resolved.notna() & (resolved <= today)
    in_clearance = backlog & ~is_resolved
    in_acceptance = ~is_closed & (accepted.isna() | (accepted > today))
    in_handling = ~is_closed & ~in_acceptance
    has_color = in_clearance | ~is_closed

    procedural = acceptance_due.where(in_acceptance, handling_due.where(in_handling, pd.NaT))
    clearance = target.where(in_clearance, pd.NaT)
    # The clearance target is current when it comes strictly earlier, or is the only one.
    by_target = clearance.notna() & (procedural.isna() | (clearance < procedural))
    deadline = clearance.where(by_target, procedural)
    stage = np.select(
        [by_target, in_acceptance, in_handling, in_clearance],
        ["clearance", "acceptance", "handling", "clearance"],
        None,
    )
    start = registered.where(in_acceptance & ~by_target, accepted.where(in_handling & ~by_target, pd.NaT))
    days_left = (deadline - today).dt.days
    limit_days = (deadline - start).dt.days
    used_days = (today - start).dt.days
    used_share = np.where(limit_days > 0, used_days / limit_days.where(limit_days > 0, 1), 1.0)
    used_share = pd.Series(used_share, index=out.index).where(start.notna() & deadline.notna())

    past_procedural = procedural.notna() & (procedural < today)
    past_target = clearance.notna() & (clearance < today)
    red = (past_procedural & limits["red_past_deadline"].astype(bool)) | (
        past_target & limits["red_backlog_past_target"].astype(bool)
    )
    yellow = (days_left.notna() & (days_left <= limits["yellow_days_left"])) | (
        used_share.notna() & (used_share >= limits["yellow_used_share"])
    )
    color = np.where(red, "red", np.where(yellow, "yellow", "green"))

    out["stage"] = pd.Series(stage, index=out.index, dtype="object").where(has_color, None)
    out["deadline"] = deadline.dt.date.where(deadline.notna() & has_color, None)
    out["days_left"] = days_left.astype("Int64").where(has_color)
    out["color"] = pd.Series(color, index=out.index, dtype="object").where(has_color, None)
    return out


def count_colors(colored: pd.DataFrame) -> dict[str, int]:
    """{"red": n, "yellow": n, "green": n} from a frame returned by `assign_colors`."""
    counts = colored["color"].value_counts() if not colored.empty else {}
    return {color: int(counts.get(color, 0)) for color in COLOR_ORDER}
