"""Tongling's "115" reminders (domain.md §5) and the daily overdue escalation.

Counted back from the handling deadline of a case in handling: 15 days before, the
handling officer reminds the unit's officer; 10 days before, the bureau's deputy head
reminds the unit's deputy head; 5 days before, the bureau writes to the unit's head.
A reminder day that falls on a rest day moves back to the preceding working day, so the
unit gets at least the intended warning. Each of these is sent once per case and
deadline (an extension starts again); a run that missed a day catches up with the level
now due. Every open case past its current deadline (acceptance, handling, or a backlog
case past its clearance target) is escalated every working day. Nothing is sent on rest
days. Recording is idempotent: a reminder already recorded for a case, level, deadline
and day is not recorded again.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import reminders
from dashboard.workdays import WorkCalendar

LEVELS = ("officer", "deputy", "head", "overdue")
# (level, days before the handling deadline it is sent), lowest level first
LEVEL_FROM = (("officer", 15), ("deputy", 10), ("head", 5))
WINDOW = LEVEL_FROM[0][1]


def level_for(due: pd.Series, on: dt.date, calendar: WorkCalendar) -> pd.Series:
    """The 115 level due on `on` for handling deadlines not yet passed: the highest
    level whose reminder day has come (None before the first one). A level's day is
    the given number of days before the deadline, or the working day before that when
    it is a rest day."""
    deadlines = pd.to_datetime(due).to_numpy("datetime64[D]")
    today = np.datetime64(on, "D")
    level = np.full(len(due), None, dtype=object)
    for name, days in LEVEL_FROM:  # lowest first, so the highest level reached wins
        sent_on = calendar.on_or_before(deadlines - np.timedelta64(days, "D"))
        level[~np.isnat(sent_on) & (sent_on <= today)] = name
    return pd.Series(level, index=due.index, dtype="object")


def record(conn: Connection, queue: pd.DataFrame, on: dt.date) -> int:
    """Record the reminders of `queue` (from `queries.reminders.reminder_queue`) not yet
    recorded on `on`; returns how many were new."""
    new = queue[~queue["recorded"]] if not queue.empty else queue
    if new.empty:
        return 0
    conn.execute(
        reminders.insert(),
        [
            {
                "case_id": int(row.case_id),
                "unit_id": None if pd.isna(row.unit_id) else int(row.unit_id),
                "level": row.level,
                "handling_due": row.due,
                "stage": row.stage,
                "reminded_on": on,
                "days_left": int(row.days_left),
            }
            for row in new.itertuples()
        ],
    )
    return len(new)


def recorded_on(conn: Connection, case_ids: list[int], on: dt.date) -> pd.DataFrame:
    """Reminders of these cases recorded on or before `on` (case_id, level, due, day)."""
    if not case_ids:
        return pd.DataFrame(columns=["case_id", "level", "handling_due", "reminded_on"])
    rows = []
    for start in range(0, len(case_ids), 5000):  # keep IN lists modest
        rows += conn.execute(
            sa.select(reminders.c.case_id, reminders.c.level, reminders.c.handling_due,
                      reminders.c.reminded_on)
            .where(reminders.c.case_id.in_(case_ids[start:start + 5000]), reminders.c.reminded_on <= on)
        ).all()
    return pd.DataFrame(rows, columns=["case_id", "level", "handling_due", "reminded_on"])
