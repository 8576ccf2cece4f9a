"""Tongling's "115" reminders (domain.md §5) and the daily overdue escalation.

Counted back from the handling deadline in calendar days: from 15 days before, the
handling officer reminds the unit's officer; from 10 days before, the bureau's deputy
head reminds the unit's deputy head; from 5 days before, the bureau writes to the
unit's head. Each of these is sent once per case and deadline (an extension starts
again); a run that missed a day catches up with the level now due. An overdue case is
escalated every day. Recording is idempotent: a reminder already recorded for a case,
level, deadline and day is not recorded again.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import reminders

LEVELS = ("officer", "deputy", "head", "overdue")
# (level, most days left at which it is due)
LEVEL_FROM = (("officer", 15), ("deputy", 10), ("head", 5))
WINDOW = LEVEL_FROM[0][1]


def level_for(days_left: pd.Series) -> pd.Series:
    """The reminder level due at `days_left` days before the deadline (None: none yet)."""
    conditions = [days_left < 0, days_left <= 5, days_left <= 10, days_left <= 15]
    return pd.Series(
        np.select(conditions, ["overdue", "head", "deputy", "officer"], None),
        index=days_left.index,
        dtype="object",
    )


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
