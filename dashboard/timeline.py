"""A case's timeline: every step of its chain (dispatched → … → evaluated) with its
time and the time it took, and the time limits of the case's preset that apply to each
step (domain.md §4), counted in working or calendar days as the preset counts them.

The steps come from the case's events; where an event is missing but the case row
records the date (ledger imports bring dates, not events), that date is used.
Deadlines are the stored ones (`dashboard.deadlines` computes them); this module only
lines them up against the steps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from dashboard.deadlines import Preset, describe_limit
from dashboard.labels import EVENT_KINDS
from dashboard.workdays import CALENDAR, UNITS, WORKING, WorkCalendar

CHAIN = ("dispatched", "accepted", "contacted", "handled", "replied", "feedback", "evaluated")
STEP_NAMES = {**{kind: EVENT_KINDS[kind] for kind in CHAIN}, "feedback": "办结反馈", "resolved": "积案化解"}
# Steps whose date the case row records too.
CASE_DATES = {"dispatched": "registered_on", "accepted": "accepted_on", "replied": "replied_on",
              "feedback": "closed_on", "resolved": "resolved_on"}

STATUS_ON_TIME, STATUS_LATE, STATUS_GOING, STATUS_GOING_LATE, STATUS_UNRECORDED, STATUS_DONE = (
    "按期", "超期", "进行中", "进行中·已超期", "无记录", "完成")

COLUMNS = ["step", "name", "at", "dated_only", "start", "end", "spent_days", "ongoing", "limit", "due",
           "used", "allowed", "unit", "overdue", "status"]


@dataclass(frozen=True)
class StepLimit:
    """A time limit met by one step of the chain."""

    key: str  # acceptance / meeting / feedback / handling / clearance
    name: str
    step: str
    counted_from: dt.date  # the starting day, not counted (Civil Code art. 201)
    due: dt.date
    days: int | None = None  # None: a target date, not a number of days
    unit: str | None = None
    extension_days: int = 0
    extension_unit: str = CALENDAR

    def describe(self) -> str:
        if self.key == "clearance":
            return f"{self.name}：目标日期 {self.due:%Y-%m-%d}"
        if self.days is None:  # deadline stored without its preset: the date only
            return f"{self.name}：期限 {self.due:%Y-%m-%d}"
        text = f"{self.name}：{describe_limit(self.days, self.unit)}"
        if self.days and self.unit == CALENDAR:
            text += f"（{UNITS[CALENDAR]}）"  # "个工作日" already says it
        if self.extension_days:
            text += f" + 延期 {describe_limit(self.extension_days, self.extension_unit)}"
        return f"{text}，期限 {self.due:%Y-%m-%d}"


def _date(value) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def step_limits(case: Mapping, preset: Preset | None) -> list[StepLimit]:
    """The limits that apply to the case: acceptance, meeting the petitioner and initial
    feedback (where the preset has them), handling (with approved extensions) and, for
    a backlog case, its clearance target."""
    registered, accepted = _date(case["registered_on"]), _date(case.get("accepted_on"))
    limits = []

    def add(key, name, step, start, due_column, days=None, unit=None, **extra):
        due = _date(case.get(due_column))
        if start is not None and due is not None:
            limits.append(StepLimit(key, name, step, start, due, days, unit, **extra))

    if preset is None:
        add("acceptance", "受理时限", "accepted", registered, "acceptance_due")
        add("handling", "办理时限", "feedback", accepted, "handling_due")
    else:
        add("acceptance", "受理时限", "accepted", registered, "acceptance_due",
            preset.acceptance_days, preset.acceptance_unit)
        if preset.meeting_days is not None:
            add("meeting", "见面双签时限", "contacted", registered, "meeting_due",
                preset.meeting_days, preset.meeting_unit)
        if preset.feedback_days is not None:
            add("feedback", "初步反馈时限", "contacted", registered, "feedback_due",
                preset.feedback_days, preset.feedback_unit)
        add("handling", "办理时限", "feedback", accepted, "handling_due", preset.handling_days,
            preset.handling_unit, extension_days=int(case.get("extension_days") or 0),
            extension_unit=preset.extension_unit)
    if case.get("is_backlog"):
        add("clearance", "积案化解", "resolved", registered, "clearance_target")
    return limits


def days_between(calendar: WorkCalendar, start: dt.date, end: dt.date, unit: str) -> int:
    """Days after `start` up to and including `end`, in the unit a limit counts:
    calendar days, or working days (holidays and weekend swaps applied)."""
    if end <= start:
        return 0
    if unit == WORKING:
        return sum(calendar.is_workday(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))
    return (end - start).days


def _step_times(case: Mapping, events: pd.DataFrame, as_of: dt.date) -> dict[str, tuple[pd.Timestamp, bool]]:
    """{step: (time, dated_only)}: the first event of each kind up to `as_of`, else the
    case row's date for that step (then only the day is known)."""
    limit = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    found: dict[str, tuple[pd.Timestamp, bool]] = {}
    if not events.empty:
        stamps = events.assign(at=pd.to_datetime(events["at"]))
        stamps = stamps[stamps["at"] < limit]
        for kind, at in stamps.groupby("kind")["at"].min().items():
            found[kind] = (at, False)
    for step, column in CASE_DATES.items():
        day = _date(case.get(column))
        if step not in found and day is not None and day <= as_of:
            if step == "resolved" and not case.get("is_backlog"):
                continue
            found[step] = (pd.Timestamp(day), True)
    return found


def stage_durations(case: Mapping, events: pd.DataFrame, preset: Preset | None, calendar: WorkCalendar,
                    as_of: dt.date) -> pd.DataFrame:
    """One row per step of the chain, in chain order: when it happened (`at`), the time
    since the previous step (`start` → `end`, `spent_days`), the limits it has to meet
    (`limit` in words, `due`, days `used` of `allowed` in the limit's `unit`) and its
    `status`. A step not yet reached that has a limit is listed as ongoing up to
    `as_of`; `overdue` marks a step done after its deadline or still pending past it.

    `case` needs registered_on, accepted_on, replied_on, closed_on, resolved_on,
    is_backlog, acceptance_due, handling_due, feedback_due, meeting_due,
    clearance_target and extension_days; `events` the columns kind and at."""
    times = _step_times(case, events, as_of)
    limits = step_limits(case, preset)
    by_step: dict[str, list[StepLimit]] = {}
    for limit in limits:
        by_step.setdefault(limit.step, []).append(limit)
    closed = _date(case.get("closed_on"))
    is_closed = closed is not None and closed <= as_of
    accepted = _date(case.get("accepted_on"))
    chain = CHAIN + (("resolved",) if case.get("is_backlog") else ())
    now = pd.Timestamp(as_of)
    rows = []
    previous, previous_dated = None, False
    for step in chain:
        step_limits_ = by_step.get(step, [])
        if step in times:
            at, dated_only = times[step]
            ongoing = False
        elif not step_limits_:
            continue  # not reached, nothing to measure it against
        else:
            at, dated_only = pd.NaT, False
            # Can the step still happen? Then it is pending; otherwise it was not recorded.
            pending = {
                "accepted": not is_closed,
                "contacted": not is_closed,
                "feedback": accepted is not None and accepted <= as_of and not is_closed,
                "resolved": True,
            }.get(step, False)
            ongoing = pending
        start = previous if previous is not None else (at if pd.notna(at) else now)
        end = at if pd.notna(at) else now
        day = end.date()
        overdue = any(day > limit.due for limit in step_limits_) if (pd.notna(at) or ongoing) else False
        if pd.notna(at):
            status = STATUS_LATE if overdue else (STATUS_ON_TIME if step_limits_ else STATUS_DONE)
        elif ongoing:
            status = STATUS_GOING_LATE if overdue else STATUS_GOING
        else:
            status = STATUS_UNRECORDED
        first = step_limits_[0] if step_limits_ else None
        counted = first is not None and first.days is not None and (pd.notna(at) or ongoing)
        measured = previous is not None and (pd.notna(at) or ongoing)
        by_day = dated_only or (measured and previous_dated)  # only days known: count whole days
        spent = None
        if measured:
            spent = float((day - start.date()).days) if by_day else (end - start).total_seconds() / 86400
            spent = max(spent, 0.0)
        rows.append({
            "step": step, "name": STEP_NAMES[step], "at": at, "dated_only": by_day, "start": start,
            "end": end, "spent_days": spent,
            "ongoing": ongoing,
            "limit": "；".join(limit.describe() for limit in step_limits_),
            "due": min(limit.due for limit in step_limits_) if step_limits_ else None,
            "used": days_between(calendar, first.counted_from, day, first.unit) if counted else None,
            "allowed": first.days + first.extension_days if counted else None,
            "unit": first.unit if first is not None else None,
            "overdue": overdue, "status": status,
        })
        if pd.notna(at):
            previous, previous_dated = at, dated_only
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame[["used", "allowed"]] = frame[["used", "allowed"]].astype("Int64")
    return frame


def describe_spent(days: float | None, dated_only: bool = False) -> str:
    """Time taken in words: 3 天 4 小时, 45 分钟; whole days when only dates are known."""
    if days is None or pd.isna(days):
        return "—"
    if dated_only:
        return f"{round(days)} 天"
    minutes = round(days * 24 * 60)
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    if d:
        return f"{d} 天 {h} 小时" if h else f"{d} 天"
    if h:
        return f"{h} 小时 {m} 分钟" if m else f"{h} 小时"
    return f"{m} 分钟"
