"""Reminders (催办): the queue due on a day and the reminders already recorded."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import cases, reminders, units
from dashboard.reminders import WINDOW, level_for, recorded_on
from queries.cases import case_list_select, fetch_case_list
from queries.filters import Filters, Scope, case_conditions, scope_condition

QUEUE_COLUMNS = ["case_id", "case_no", "unit_id", "unit_name", "county_name", "township_name",
                 "domain", "level", "due", "days_left", "provisional", "leader_name", "recorded"]


def reminder_queue(conn: Connection, scope: Scope, filters: Filters, on: dt.date) -> pd.DataFrame:
    """Reminders due on `on` for cases in handling (accepted, not closed, not a backlog
    case on the clearance list) within 15 days of their handling deadline or past it.
    `recorded` tells whether it was already recorded that day."""
    conditions = [
        *case_conditions(scope, filters, period=False),
        cases.c.accepted_on <= on,
        sa.or_(cases.c.closed_on.is_(None), cases.c.closed_on > on),
        cases.c.handling_due.is_not(None),
        cases.c.handling_due <= on + dt.timedelta(days=WINDOW),
    ]
    frame = fetch_case_list(conn, case_list_select(*conditions), on)
    frame = frame[frame["stage"] == "handling"].copy()
    if frame.empty:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    frame["due"] = frame["deadline"]
    frame["level"] = level_for(frame["days_left"].astype("int64"))
    frame = frame[frame["level"].notna()]
    done = recorded_on(conn, frame["case_id"].astype(int).tolist(), on)
    before = done[done["reminded_on"] < on]
    today = done[done["reminded_on"] == on]
    sent_earlier = set(zip(before["case_id"], before["level"], before["handling_due"], strict=True))
    sent_today = set(zip(today["case_id"], today["level"], today["handling_due"], strict=True))
    keys = list(zip(frame["case_id"], frame["level"], frame["due"], strict=True))
    once = frame["level"] != "overdue"
    frame = frame[[not (o and k in sent_earlier) for o, k in zip(once, keys, strict=True)]]
    frame["recorded"] = [k in sent_today for k in zip(frame["case_id"], frame["level"], frame["due"], strict=True)]
    order = {"overdue": 0, "head": 1, "deputy": 2, "officer": 3}
    return (
        frame.assign(_order=frame["level"].map(order))
        .sort_values(["_order", "days_left", "unit_name", "case_no"])
        .reset_index(drop=True)[QUEUE_COLUMNS]
    )


def reminder_log(conn: Connection, scope: Scope, filters: Filters, case_id: int | None = None) -> pd.DataFrame:
    """Recorded reminders in scope (of one case if given), newest first."""
    stmt = (
        sa.select(cases.c.case_no, reminders.c.reminded_on, reminders.c.level, reminders.c.handling_due,
                  reminders.c.days_left, units.c.name.label("unit_name"))
        .select_from(reminders.join(cases, cases.c.id == reminders.c.case_id)
                     .outerjoin(units, units.c.id == reminders.c.unit_id))
        .where(scope_condition(scope))
        .order_by(reminders.c.reminded_on.desc(), reminders.c.id.desc())
    )
    if case_id is not None:
        stmt = stmt.where(cases.c.id == case_id)
    return pd.DataFrame(conn.execute(stmt).mappings().all(),
                        columns=["case_no", "reminded_on", "level", "handling_due", "days_left", "unit_name"])
