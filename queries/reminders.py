"""Reminders (催办): the queue due on a day and the reminders already recorded."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.db import read_frame
from dashboard.models import case_colors, cases, reminders, units
from dashboard.reminders import WINDOW, level_for, recorded_on
from dashboard.rules import assign_colors, load_rules
from dashboard.workdays import load_calendar
from queries import summary
from queries.cases import case_list_select, stored_status_select
from queries.filters import Filters, Scope, case_conditions, open_condition, scope_condition

QUEUE_COLUMNS = ["case_id", "case_no", "unit_id", "unit_name", "county_name", "township_name",
                 "domain", "level", "due", "days_left", "provisional", "leader_name", "recorded", "stage"]
LEVEL_ORDER = {"overdue": 0, "head": 1, "deputy": 2, "officer": 3}
# A reminder day on a rest day moves back to the working day before it; the longest
# run of rest days (Spring Festival) is 9 days, so look this far ahead for 115 levels.
HORIZON = WINDOW + 14


def is_rest_day(conn: Connection, on: dt.date) -> bool:
    return not load_calendar(conn).is_workday(on)


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date.astype(object).where(series.notna(), None)


def reminder_queue(conn: Connection, scope: Scope, filters: Filters, on: dt.date) -> pd.DataFrame:
    """Reminders due on `on` (empty on a rest day): the 115 level now due for each case
    in handling before its handling deadline, and the daily `overdue` escalation of
    every open case past its current deadline (acceptance, handling, or a backlog case
    past its clearance target; `due` is that deadline and `stage` says which).
    `recorded` tells whether it was already recorded that day."""
    calendar = load_calendar(conn)
    if not calendar.is_workday(on):
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    horizon = on + dt.timedelta(days=HORIZON)
    if summary._colors_ready(conn, on):
        # Colored by the one rule and stored for this day: only the cases past their
        # deadline and those in handling with a deadline ahead are fetched.
        # A case in the queue is open on `on`, so it has a stored color (every open case
        # has one), and its current deadline (the earliest still running) is at most its
        # handling deadline: days left ≤ HORIZON. Reading from those few stored rows
        # spares the database every case of the scope (10,000,000 cases on PostgreSQL:
        # 8.9 s → about 1.3 s at city scope, README 规模与部署).
        near = sa.select(case_colors.c.case_id).where(
            case_colors.c.color.is_not(None), case_colors.c.days_left <= HORIZON,
            case_colors.c.registered_on <= on)
        conditions = [
            *case_conditions(scope, filters, period=False), cases.c.id.in_(near),
            sa.or_(case_colors.c.days_left < 0,
                   sa.and_(cases.c.handling_due.between(on, horizon), cases.c.accepted_on <= on)),
        ]
        frame = read_frame(conn, stored_status_select(*conditions))
        if frame.empty:
            return pd.DataFrame(columns=QUEUE_COLUMNS)
        frame["days_left"] = frame["days_left"].astype("Int64")
    else:
        conditions = [
            *case_conditions(scope, filters, period=False),
            open_condition(on),
            sa.or_(
                cases.c.handling_due <= horizon,
                cases.c.acceptance_due < on,
                cases.c.clearance_target < on,
            ),
        ]
        frame = read_frame(conn, case_list_select(*conditions))
        if frame.empty:
            return pd.DataFrame(columns=QUEUE_COLUMNS)
        frame = assign_colors(frame, on, load_rules(conn))
    provisional = frame["provisional"].fillna(False).astype(bool)

    late = frame[frame["color"].notna() & (frame["days_left"] < 0).fillna(False).astype(bool)]
    overdue = late.assign(
        level="overdue", due=late["deadline"], days_left=late["days_left"].astype("int64"),
        provisional=provisional[late.index] & late["stage"].isin(["acceptance", "handling"]),
    )

    accepted = pd.to_datetime(frame["accepted_on"])
    closed = pd.to_datetime(frame["closed_on"])
    handling_due = pd.to_datetime(frame["handling_due"])
    today = pd.Timestamp(on)
    in_handling = (
        (accepted <= today) & (closed.isna() | (closed > today))
        & handling_due.notna() & (handling_due >= today)
    )
    running = frame[in_handling]
    due = _dates(running["handling_due"])
    timely = running.assign(
        level=level_for(due, on, calendar), due=due, stage="handling",
        days_left=(handling_due[in_handling] - today).dt.days.astype("int64"),
        provisional=provisional[in_handling],
    )
    timely = timely[timely["level"].notna()]

    queue = pd.concat([overdue, timely], ignore_index=True)
    if queue.empty:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    done = recorded_on(conn, queue["case_id"].astype(int).tolist(), on)
    before = done[done["reminded_on"] < on]
    today_done = done[done["reminded_on"] == on]
    sent_earlier = set(zip(before["case_id"], before["level"], before["handling_due"], strict=True))
    sent_today = set(zip(today_done["case_id"], today_done["level"], today_done["handling_due"], strict=True))
    keys = list(zip(queue["case_id"], queue["level"], queue["due"], strict=True))
    once = queue["level"] != "overdue"  # 115 levels are sent once per deadline
    queue = queue[[not (o and k in sent_earlier) for o, k in zip(once, keys, strict=True)]].copy()
    queue["recorded"] = [k in sent_today for k in zip(queue["case_id"], queue["level"], queue["due"], strict=True)]
    return (
        queue.assign(_order=queue["level"].map(LEVEL_ORDER))
        .sort_values(["_order", "days_left", "unit_name", "case_no"])
        .reset_index(drop=True)[QUEUE_COLUMNS]
    )


def reminder_log(conn: Connection, scope: Scope, filters: Filters, case_id: int | None = None) -> pd.DataFrame:
    """Recorded reminders in scope (of one case if given), newest first."""
    stmt = (
        sa.select(cases.c.case_no, reminders.c.reminded_on, reminders.c.level, reminders.c.handling_due,
                  reminders.c.days_left, units.c.name.label("unit_name"), reminders.c.stage)
        .select_from(reminders.join(cases, cases.c.id == reminders.c.case_id)
                     .outerjoin(units, units.c.id == reminders.c.unit_id))
        .where(scope_condition(scope))
        .order_by(reminders.c.reminded_on.desc(), reminders.c.id.desc())
    )
    if case_id is not None:
        stmt = stmt.where(cases.c.id == case_id)
    return pd.DataFrame(conn.execute(stmt).mappings().all(),
                        columns=["case_no", "reminded_on", "level", "handling_due", "days_left", "unit_name",
                                 "stage"])
