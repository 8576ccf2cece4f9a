"""Leader reception days (领导接访) and the 五个必批 instruction queue, in the caller's
scope (by the region each record belongs to: the reception's place, the instructing
leader's region)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.db import read_frame
from dashboard.models import cases, instructions, leaders, reception_cases, receptions, regions
from queries.filters import Filters, Scope, code_in_scope
from queries.kpi import ratio


def region_conditions(column: sa.ColumnElement[str], scope: Scope, filters: Filters) -> list[sa.ColumnElement[bool]]:
    """A region-code column restricted to the scope and the sidebar's county/township.
    (A helper for other query modules: it takes no connection.)"""
    conditions = [code_in_scope(column, scope)]
    if filters.township_code:
        conditions.append(column == filters.township_code)
    elif filters.county_code:
        conditions.append(column.in_(sa.select(regions.c.code).where(sa.or_(
            regions.c.code == filters.county_code, regions.c.parent_code == filters.county_code)).scalar_subquery()))
    return conditions


def reception_indicators(conn: Connection, scope: Scope, filters: Filters) -> dict:
    """接访完成率 = receptions held ÷ receptions scheduled for a day in the period;
    人次 = persons received at the held ones; 阅批率 = matters received in the period
    and instructed on by its end ÷ matters received in the period; mean days from
    receipt to instruction."""
    start, end = filters.period
    where = [*region_conditions(receptions.c.region_code, scope, filters), receptions.c.held_on.between(start, end)]
    row = conn.execute(sa.select(
        sa.func.count().label("scheduled"),
        sa.func.coalesce(sa.func.sum(sa.case((receptions.c.held.is_(True), 1), else_=0)), 0).label("held"),
        sa.func.coalesce(sa.func.sum(sa.case((receptions.c.held.is_(True), receptions.c.persons), else_=0)),
                         0).label("persons"),
    ).where(*where)).one()
    queue = read_frame(conn, sa.select(instructions.c.received_on, instructions.c.instructed_on).where(
        *region_conditions(instructions.c.region_code, scope, filters), instructions.c.received_on.between(start, end)))
    done = queue[pd.to_datetime(queue["instructed_on"]).notna()
                 & (pd.to_datetime(queue["instructed_on"]) <= pd.Timestamp(end))] if not queue.empty else queue
    days = (pd.to_datetime(done["instructed_on"]) - pd.to_datetime(done["received_on"])).dt.days if not done.empty \
        else pd.Series(dtype="float64")
    return {
        "reception_completion_rate": ratio(int(row.held), int(row.scheduled)),
        "receptions_scheduled": int(row.scheduled),
        "receptions_held": int(row.held),
        "reception_persons": int(row.persons),
        "instruction_rate": ratio(len(done), len(queue)),
        "instructions_received": len(queue),
        "instructions_done": len(done),
        "instruction_days_mean": float(days.mean()) if len(days) else None,
    }


def reception_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Reception days of the period, newest first: leader, date, place, level, form,
    held or only scheduled, persons (人次) and the cases taken into 包案 from the day."""
    start, end = filters.period
    stmt = (sa.select(receptions.c.id, leaders.c.name.label("leader_name"), leaders.c.title.label("leader_title"),
                      receptions.c.held_on, receptions.c.place, receptions.c.region_code,
                      regions.c.name.label("region_name"), receptions.c.level, receptions.c.form, receptions.c.held,
                      receptions.c.persons, receptions.c.note)
            .select_from(receptions.join(leaders, leaders.c.id == receptions.c.leader_id)
                         .outerjoin(regions, regions.c.code == receptions.c.region_code))
            .where(*region_conditions(receptions.c.region_code, scope, filters),
                   receptions.c.held_on.between(start, end))
            .order_by(receptions.c.held_on.desc(), receptions.c.id.desc()))
    frame = read_frame(conn, stmt)
    taken = read_frame(conn, sa.select(reception_cases.c.reception_id, cases.c.case_no)
                       .join(cases, cases.c.id == reception_cases.c.case_id)
                       .where(reception_cases.c.reception_id.in_(frame["id"].tolist()))
                       .order_by(cases.c.case_no)) if not frame.empty else pd.DataFrame(columns=["reception_id",
                                                                                                  "case_no"])
    numbers = taken.groupby("reception_id")["case_no"].apply("、".join).to_dict() if not taken.empty else {}
    frame["cases_taken"] = frame["id"].map(numbers).fillna("")
    return frame


def reception_summary(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per level (市/县/乡): scheduled, held, 接访完成率 and persons, as Suqian reports
    "市级领导接访 55 人次，接访完成率 100%"."""
    start, end = filters.period
    rows = conn.execute(sa.select(
        receptions.c.level, sa.func.count().label("scheduled"),
        sa.func.coalesce(sa.func.sum(sa.case((receptions.c.held.is_(True), 1), else_=0)), 0).label("held"),
        sa.func.coalesce(sa.func.sum(sa.case((receptions.c.held.is_(True), receptions.c.persons), else_=0)),
                         0).label("persons"),
    ).where(*region_conditions(receptions.c.region_code, scope, filters), receptions.c.held_on.between(start, end))
        .group_by(receptions.c.level)).mappings().all()
    frame = pd.DataFrame(rows, columns=["level", "scheduled", "held", "persons"])
    order = {"city": 0, "county": 1, "township": 2}
    frame = frame.sort_values("level", key=lambda s: s.map(order)).reset_index(drop=True)
    frame[["scheduled", "held", "persons"]] = frame[["scheduled", "held", "persons"]].astype("int64")
    frame["completion_rate"] = frame["held"] / frame["scheduled"].where(frame["scheduled"] > 0)
    return frame


def instruction_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """五个必批 matters received in the period, per leader: category, matter, received,
    instructed (date and text) or waiting, and days to instruction (or waited so far)."""
    start, end = filters.period
    stmt = (sa.select(instructions.c.id, instructions.c.leader_id, leaders.c.name.label("leader_name"),
                      leaders.c.title.label("leader_title"), instructions.c.category, instructions.c.item,
                      instructions.c.received_on, instructions.c.instructed_on, instructions.c.instruction,
                      cases.c.case_no)
            .select_from(instructions.join(leaders, leaders.c.id == instructions.c.leader_id)
                         .outerjoin(cases, cases.c.id == instructions.c.case_id))
            .where(*region_conditions(instructions.c.region_code, scope, filters),
                   instructions.c.received_on.between(start, end))
            .order_by(leaders.c.name, instructions.c.received_on.desc(), instructions.c.id.desc()))
    frame = read_frame(conn, stmt)
    received = pd.to_datetime(frame["received_on"])
    instructed = pd.to_datetime(frame["instructed_on"])
    done = instructed.notna() & (instructed <= pd.Timestamp(end))
    frame["done"] = done
    frame["days"] = ((instructed.where(done, pd.Timestamp(end))) - received).dt.days.astype("Int64")
    return frame


def instruction_queue(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per leader: matters received in the period, instructed, waiting, 阅批率 and mean
    days to instruction."""
    frame = instruction_list(conn, scope, filters)
    columns = ["leader_id", "leader_name", "leader_title", "received", "done", "waiting", "rate", "days_mean"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(["leader_id", "leader_name", "leader_title"]).agg(
        received=("id", "size"), done=("done", "sum")).reset_index()
    days = frame[frame["done"]].groupby("leader_id")["days"].mean()
    grouped["done"] = grouped["done"].astype("int64")
    grouped["waiting"] = grouped["received"] - grouped["done"]
    grouped["rate"] = grouped["done"] / grouped["received"]
    grouped["days_mean"] = grouped["leader_id"].map(days).astype("float64")
    return grouped.sort_values(["waiting", "leader_name"], ascending=[False, True])[columns].reset_index(drop=True)


def leader_receptions(conn: Connection, scope: Scope, filters: Filters, leader_id: int) -> pd.DataFrame:
    """One leader's reception days in the period (in scope)."""
    frame = reception_list(conn, scope, filters)
    ids = set(conn.execute(sa.select(receptions.c.id).where(receptions.c.leader_id == leader_id)).scalars())
    return frame[frame["id"].isin(ids)].reset_index(drop=True)


def leader_instructions(conn: Connection, scope: Scope, filters: Filters, leader_id: int) -> pd.DataFrame:
    """One leader's 五个必批 matters received in the period (in scope)."""
    frame = instruction_list(conn, scope, filters)
    return frame[frame["leader_id"] == leader_id].reset_index(drop=True)
