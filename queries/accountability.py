"""The accountability loop (领导包案 in full, 纪委+信访, 溯源, 问责, 回访, 销号): lists and
indicators, in the caller's scope.

Case records (四定四包, 2453 steps, referrals, traces, revisits, clearances) follow their
case's region; records of their own (问责/约谈) follow their region code. The sidebar's
county, township, domain and channel filters apply as to cases.

These are records about officials and units; nothing here lists petitioners.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.accountability import SANCTION_FORMS, STEP_COUNT, STEPS
from dashboard.db import read_frame
from dashboard.models import (
    accountability_records,
    case_plans,
    case_steps,
    case_units,
    cases,
    clearances,
    leaders,
    meeting_outcomes,
    referrals,
    regions,
    revisits,
    traces,
    units,
)
from queries.cases import case_list_select, fetch_case_list
from queries.filters import Filters, Scope, case_conditions, open_condition
from queries.kpi import ratio
from queries.leaders import LEADER_INDEX
from queries.receptions import reception_indicators, region_conditions

SATISFIED = ("satisfied", "basic")
LONG_BACKLOG_DAYS = 365
STEP_SHORT = {code: name.split("·")[1].replace("第", "").replace("次", "") for code, name in STEPS.items()}  # 1见面  # a backlog case older than this is proposed for referral


def _case_scope(scope: Scope, filters: Filters) -> list[sa.ColumnElement[bool]]:
    return case_conditions(scope, filters, period=False)


def _count(conn: Connection, stmt) -> int:
    return int(conn.execute(stmt).scalar_one() or 0)


# ------------------------------------------------------------------ indicators


def accountability_indicators(conn: Connection, scope: Scope, filters: Filters) -> dict:
    """The accountability loop's indicators for the period (README: each with its
    numerator and denominator). Keys added to `kpi --json`."""
    start, end = filters.period
    in_scope = _case_scope(scope, filters)

    def sums(table, date_index: str | None, *conditions, distinct: dict | None = None, **flags) -> dict[str, int]:
        """Rows of `table` (joined to their cases in scope) matching each flag, and the
        `distinct` counts, in one statement. SQLite is told where to start: the
        referrals and traces (few) from their date index; 回访 (about one per closed
        case) for the whole city by reading the table through. Without statistics it
        would read every case of the scope and probe for their rows (3-15x slower)."""
        columns = [sa.func.coalesce(sa.func.sum(sa.case((flag, 1), else_=0)), 0).label(name)
                   for name, flag in flags.items()]
        columns += [sa.func.count(sa.distinct(expression)).label(name) for name, expression in (distinct or {}).items()]
        stmt = (sa.select(*columns).select_from(table.join(cases, cases.c.id == table.c.case_id))
                .where(*in_scope, *conditions))
        if table is not revisits:
            stmt = stmt.with_hint(table, f"INDEXED BY {date_index}", dialect_name="sqlite")
        elif scope.level == "city":
            stmt = stmt.with_hint(table, "NOT INDEXED", dialect_name="sqlite")
        row = conn.execute(stmt).one()
        return {name: int(row._mapping[name] or 0) for name in [*flags, *(distinct or {})]}

    closed_in_period = cases.c.closed_on.between(start, end)
    closed = _count(conn, sa.select(sa.func.count()).select_from(cases).where(*in_scope, closed_in_period))
    # 回访 figures in one pass over the period's 回访. A 回访 is recorded on or after the
    # case's closing (dashboard/accountability.py refuses an earlier date), so a case
    # closed in the period and revisited by its end was revisited within the period.
    rated = sums(revisits, None, revisits.c.revisited_on.between(start, end),
                 rated_bureau=revisits.c.satisfaction_bureau.is_not(None),
                 satisfied_bureau=revisits.c.satisfaction_bureau.in_(SATISFIED),
                 rated_authority=revisits.c.satisfaction_authority.is_not(None),
                 satisfied_authority=revisits.c.satisfaction_authority.in_(SATISFIED),
                 distinct={"revisited": sa.case((closed_in_period, revisits.c.case_id))})
    revisited = rated["revisited"]
    referred = sums(referrals, "ix_referrals_referred_on", referrals.c.referred_on.between(start, end),
                    typical=referrals.c.kind == "typical", general=referrals.c.kind == "general",
                    closed=sa.and_(referrals.c.closed_on.is_not(None), referrals.c.closed_on <= end))
    traced = sums(traces, "ix_traces_traced_on", traces.c.traced_on.between(start, end),
                  traced=sa.true())["traced"]
    sanctioned = _count(conn, sa.select(sa.func.count()).select_from(
        sa.select(accountability_records.c.official_name, accountability_records.c.unit_name).where(
            *region_conditions(accountability_records.c.region_code, scope, filters),
            accountability_records.c.decided_on.between(start, end),
            accountability_records.c.form.in_(SANCTION_FORMS)).distinct().subquery()))
    interviewed = _count(conn, sa.select(sa.func.count()).select_from(
        sa.select(accountability_records.c.official_name, accountability_records.c.unit_name).where(
            *region_conditions(accountability_records.c.region_code, scope, filters),
            accountability_records.c.decided_on.between(start, end),
            accountability_records.c.form == "interview").distinct().subquery()))
    states = _clearance_counts(conn, scope, filters)
    return {
        **reception_indicators(conn, scope, filters),
        "referrals": referred,
        "traced": traced,
        "accountability_persons": sanctioned,
        "interviewed_persons": interviewed,
        "revisit_rate": ratio(revisited, closed),
        "revisited_cases": revisited,
        "satisfaction_rate_bureau": ratio(rated["satisfied_bureau"], rated["rated_bureau"]),
        "satisfaction_rate_authority": ratio(rated["satisfied_authority"], rated["rated_authority"]),
        "backlog_cleared": states.get("cleared", 0),
        "backlog_reopened": states.get("reopened", 0),
    }


def _latest_clearances(end: dt.date):
    """Each case's latest clearance decision by `end` (case_id, last_id)."""
    return sa.select(clearances.c.case_id, sa.func.max(clearances.c.id).label("last_id")).where(
        clearances.c.decided_on <= end).group_by(clearances.c.case_id).subquery()


def _clearance_counts(conn: Connection, scope: Scope, filters: Filters) -> dict[str, int]:
    """How many backlog cases in scope are in each latest clearance state at the period
    end (the states of `clearance_states`, counted in the database)."""
    latest = _latest_clearances(filters.as_of)
    return {kind: int(n) for kind, n in conn.execute(
        sa.select(clearances.c.kind, sa.func.count())
        .select_from(latest.join(clearances, clearances.c.id == latest.c.last_id)
                     .join(cases, cases.c.id == clearances.c.case_id))
        .where(*_case_scope(scope, filters)).group_by(clearances.c.kind)).all()}


def clearance_states(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Each backlog case with a clearance decision by the period end: its latest state
    (cleared 已销号 / reopened 再次督办), date, approver, note."""
    latest = _latest_clearances(filters.as_of)
    stmt = (sa.select(cases.c.case_no, cases.c.county_code, cases.c.township_code,
                      regions.c.name.label("region_name"), leaders.c.name.label("leader_name"),
                      clearances.c.kind.label("state"), clearances.c.decided_on, clearances.c.approved_by,
                      clearances.c.note)
            .select_from(latest.join(clearances, clearances.c.id == latest.c.last_id)
                         .join(cases, cases.c.id == clearances.c.case_id)
                         .outerjoin(regions, regions.c.code == cases.c.county_code)
                         .outerjoin(leaders, leaders.c.id == cases.c.leader_id))
            .where(*_case_scope(scope, filters)).order_by(clearances.c.decided_on.desc(), cases.c.case_no))
    return read_frame(conn, stmt)


def accountability_by_region(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per county (or township of a county): 溯源调查 and persons held accountable in
    the period, referrals and 回访 — as Suqian counts "179 件溯源调查，26 名责任人问责"."""
    from queries.regions import region_list

    start, end = filters.period
    level = "county" if scope.level == "city" else "township"
    table = region_list(conn, scope, level)[["code", "name"]]
    group = cases.c.county_code if level == "county" else cases.c.township_code
    in_scope = _case_scope(scope, filters)

    def per_region(table_, *conditions) -> pd.Series:
        rows = conn.execute(sa.select(group.label("code"), sa.func.count()).select_from(
            table_.join(cases, cases.c.id == table_.c.case_id)).where(*in_scope, *conditions).group_by(group)).all()
        return table["code"].map(dict(rows)).fillna(0).astype("int64")

    table = table.assign(
        traced=per_region(traces, traces.c.traced_on.between(start, end)),
        referrals=per_region(referrals, referrals.c.referred_on.between(start, end)),
        revisits=per_region(revisits, revisits.c.revisited_on.between(start, end)),
    )
    records = read_frame(conn, sa.select(accountability_records.c.region_code, accountability_records.c.official_name,
                                         accountability_records.c.unit_name, accountability_records.c.form).where(
        *region_conditions(accountability_records.c.region_code, scope, filters),
        accountability_records.c.decided_on.between(start, end)))
    parents = dict(conn.execute(sa.select(regions.c.code, regions.c.parent_code)).all())
    if records.empty:
        table["accountability_persons"] = 0
        return table.reset_index(drop=True)
    records["code"] = records["region_code"].map(
        lambda code: code if code in set(table["code"]) else parents.get(code))
    sanctioned = records[records["form"].isin(SANCTION_FORMS)].drop_duplicates(["code", "official_name", "unit_name"])
    table["accountability_persons"] = table["code"].map(sanctioned.groupby("code").size()).fillna(0).astype("int64")
    return table.reset_index(drop=True)


# ------------------------------------------------------------------ one case


def case_plan(conn: Connection, scope: Scope, case_id: int) -> pd.DataFrame:
    """四定四包 of a case in scope (one row, or none): leader, measures, target date,
    responsible person and unit."""
    stmt = (sa.select(case_plans.c.case_id, leaders.c.name.label("leader_name"), leaders.c.title.label("leader_title"),
                      case_plans.c.leader_id, case_plans.c.measures, case_plans.c.target_date,
                      case_plans.c.responsible_person, case_plans.c.responsible_unit_id,
                      units.c.name.label("responsible_unit"), case_plans.c.recorded_by, case_plans.c.recorded_at)
            .select_from(case_plans.join(cases, cases.c.id == case_plans.c.case_id)
                         .outerjoin(leaders, leaders.c.id == case_plans.c.leader_id)
                         .outerjoin(units, units.c.id == case_plans.c.responsible_unit_id))
            .where(cases.c.id == case_id, scope_condition_of(scope)))
    return read_frame(conn, stmt)


def scope_condition_of(scope: Scope) -> sa.ColumnElement[bool]:
    from dashboard.scope import scope_condition

    return scope_condition(scope)


def case_steps_list(conn: Connection, scope: Scope, case_id: int) -> pd.DataFrame:
    """The fourteen 2453 steps of a case in scope, done (with date and note) or missing."""
    done = read_frame(conn, sa.select(case_steps.c.step, case_steps.c.done_on, case_steps.c.note,
                                      case_steps.c.recorded_by)
                      .join(cases, cases.c.id == case_steps.c.case_id)
                      .where(cases.c.id == case_id, scope_condition_of(scope)))
    if not _count(conn, sa.select(sa.func.count()).select_from(cases).where(cases.c.id == case_id,
                                                                           scope_condition_of(scope))):
        return pd.DataFrame(columns=["step", "step_name", "done", "done_on", "note", "recorded_by"])
    frame = pd.DataFrame({"step": list(STEPS), "step_name": list(STEPS.values())})
    frame = frame.merge(done, on="step", how="left")
    frame.insert(2, "done", frame["done_on"].notna())
    return frame


def case_dual_units(conn: Connection, scope: Scope, case_id: int) -> pd.DataFrame:
    """一事双交: the units a case in scope was handed to, each with its part."""
    return read_frame(conn, sa.select(case_units.c.role, units.c.name.label("unit_name"), case_units.c.part)
                      .select_from(case_units.join(cases, cases.c.id == case_units.c.case_id)
                                   .join(units, units.c.id == case_units.c.unit_id))
                      .where(cases.c.id == case_id, scope_condition_of(scope)).order_by(case_units.c.role.desc()))


def case_records(conn: Connection, scope: Scope, case_id: int) -> dict[str, pd.DataFrame]:
    """Referrals, traces, revisits, clearances and 问责 records of a case in scope."""
    inside = [cases.c.id == case_id, scope_condition_of(scope)]

    def of(table, *columns, order):
        return read_frame(conn, sa.select(*columns).select_from(table.join(cases, cases.c.id == table.c.case_id))
                          .where(*inside).order_by(order))

    return {
        "referrals": of(referrals, referrals.c.id, referrals.c.kind, referrals.c.quarter, referrals.c.referred_on,
                        referrals.c.receiving_body, referrals.c.finding, referrals.c.outcome,
                        referrals.c.feedback_on, referrals.c.closed_on, order=referrals.c.id),
        "traces": of(traces, traces.c.traced_on, traces.c.cause, sa.select(units.c.name).where(
            units.c.id == traces.c.responsible_unit_id).scalar_subquery().label("unit_name"), order=traces.c.id),
        "revisits": of(revisits, revisits.c.revisited_on, revisits.c.way, revisits.c.result,
                       revisits.c.satisfaction_bureau, revisits.c.satisfaction_authority, revisits.c.recorded_by,
                       order=revisits.c.id),
        "clearances": of(clearances, clearances.c.kind, clearances.c.decided_on, clearances.c.approved_by,
                         clearances.c.note, order=clearances.c.id),
        "accountability": of(accountability_records, accountability_records.c.official_name,
                             accountability_records.c.post, accountability_records.c.unit_name,
                             accountability_records.c.form, accountability_records.c.decided_on,
                             order=accountability_records.c.id),
    }


# ------------------------------------------------------------------ lists


def _case_columns():
    return (cases.c.case_no, cases.c.county_code, regions.c.name.label("county_name"))


def referral_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """纪委移送 in the period (by referral date), newest first, with their state: 办理中
    until fed back, 已反馈 until 对账销号, then 已销号."""
    start, end = filters.period
    approver = leaders.alias("approver")
    stmt = (sa.select(referrals.c.id, *_case_columns(), referrals.c.kind, referrals.c.quarter,
                      referrals.c.referred_on, approver.c.name.label("approved_by"), referrals.c.receiving_body,
                      referrals.c.finding, referrals.c.outcome, referrals.c.feedback_on, referrals.c.closed_on)
            .select_from(referrals.join(cases, cases.c.id == referrals.c.case_id)
                         .outerjoin(regions, regions.c.code == cases.c.county_code)
                         .outerjoin(approver, approver.c.id == referrals.c.approved_by_leader_id))
            .where(*_case_scope(scope, filters), referrals.c.referred_on.between(start, end))
            .order_by(referrals.c.referred_on.desc(), referrals.c.id.desc()))
    frame = read_frame(conn, stmt)
    closed = pd.to_datetime(frame["closed_on"]).notna()
    fed_back = pd.to_datetime(frame["feedback_on"]).notna()
    frame["state"] = ["closed" if c else "fed_back" if f else "open" for c, f in zip(closed, fed_back, strict=True)]
    return frame


def referral_candidates(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Cases proposed for referral to the discipline commission (a person decides):
    open cases red at the period end, unresolved backlog cases older than a year, and
    cases rated unsatisfactory (不满意) at a supervision meeting. Cases already
    referred and not yet 对账销号 are left out. Each row says why it is proposed;
    rated unsatisfactory first, then red, then long backlog (oldest first)."""
    as_of = filters.as_of
    conditions = [*_case_scope(scope, filters), open_condition(as_of)]
    frame = fetch_case_list(conn, case_list_select(*conditions), as_of)
    rated = set(conn.execute(sa.select(meeting_outcomes.c.case_id).where(
        meeting_outcomes.c.rating == "unsatisfactory",
        meeting_outcomes.c.recorded_at < pd.Timestamp(as_of) + pd.Timedelta(days=1))).scalars())
    referred = set(conn.execute(sa.select(referrals.c.case_id).where(referrals.c.closed_on.is_(None))).scalars())
    if frame.empty:
        return frame.assign(reasons=pd.Series(dtype="object"))
    registered = pd.to_datetime(frame["registered_on"])
    red = frame["color"] == "red"
    long_backlog = frame["is_backlog"].astype(bool) & ((pd.Timestamp(as_of) - registered).dt.days > LONG_BACKLOG_DAYS)
    unsatisfactory = frame["case_id"].isin(rated)
    reasons = [
        "、".join(text for flag, text in ((r, "超期（红色）"), (b, "长期积案（超过一年）"), (u, "督查会评价不满意")) if flag)
        for r, b, u in zip(red, long_backlog, unsatisfactory, strict=True)
    ]
    frame = frame.assign(reasons=reasons, weight=4 * unsatisfactory + 2 * red.astype(int) + long_backlog.astype(int))
    frame = frame[(frame["reasons"] != "") & ~frame["case_id"].isin(referred)]
    return frame.sort_values(["weight", "registered_on"], ascending=[False, True]).drop(columns="weight").reset_index(
        drop=True)


def trace_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    start, end = filters.period
    stmt = (sa.select(traces.c.id, *_case_columns(), traces.c.traced_on, traces.c.cause,
                      units.c.name.label("unit_name"))
            .select_from(traces.join(cases, cases.c.id == traces.c.case_id)
                         .outerjoin(regions, regions.c.code == cases.c.county_code)
                         .outerjoin(units, units.c.id == traces.c.responsible_unit_id))
            .where(*_case_scope(scope, filters), traces.c.traced_on.between(start, end))
            .order_by(traces.c.traced_on.desc(), traces.c.id.desc()))
    return read_frame(conn, stmt)


def accountability_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """问责/约谈 records of the period: officials by name, post and unit (public-office
    holders, in that capacity)."""
    start, end = filters.period
    stmt = (sa.select(accountability_records.c.id, accountability_records.c.region_code,
                      regions.c.name.label("region_name"), accountability_records.c.official_name,
                      accountability_records.c.post, accountability_records.c.unit_name,
                      accountability_records.c.level, accountability_records.c.decided_on,
                      accountability_records.c.form, accountability_records.c.reason,
                      cases.c.case_no)
            .select_from(accountability_records.outerjoin(regions, regions.c.code == accountability_records.c.region_code)
                         .outerjoin(cases, cases.c.id == accountability_records.c.case_id))
            .where(*region_conditions(accountability_records.c.region_code, scope, filters),
                   accountability_records.c.decided_on.between(start, end))
            .order_by(accountability_records.c.decided_on.desc(), accountability_records.c.id.desc()))
    return read_frame(conn, stmt)


def revisit_list(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """回访 of the period: case, date, way, result, satisfaction with the bureau and
    with the competent authority."""
    start, end = filters.period
    stmt = (sa.select(revisits.c.id, *_case_columns(), revisits.c.revisited_on, revisits.c.way, revisits.c.result,
                      revisits.c.satisfaction_bureau, revisits.c.satisfaction_authority, revisits.c.recorded_by)
            .select_from(revisits.join(cases, cases.c.id == revisits.c.case_id)
                         .outerjoin(regions, regions.c.code == cases.c.county_code))
            .where(*_case_scope(scope, filters), revisits.c.revisited_on.between(start, end))
            .order_by(revisits.c.revisited_on.desc(), revisits.c.id.desc()))
    return read_frame(conn, stmt)


# ------------------------------------------------------------------ leaders


def leader_casework(conn: Connection, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per leader, over the backlog cases they take (in scope, registered by the period
    end): cases, cases whose 四定四包 is complete, cases missing each 定, and the 2453
    completion (steps done ÷ 14 × cases)."""
    columns = ["leader_id", "cases", "plans_complete", "missing_measures", "missing_time", "missing_responsibility",
               "steps_done", "steps_completion"]
    missing = _missing_parts()
    flag = lambda condition: sa.func.sum(sa.case((condition, 1), else_=0))  # noqa: E731
    stmt = (sa.select(cases.c.leader_id, sa.func.count().label("cases"),
                      flag(~sa.or_(*missing.values())).label("plans_complete"),
                      *[flag(condition).label(name) for name, condition in missing.items()],
                      sa.func.sum(_steps_done(filters)).label("steps_done"))
            .select_from(_with_plans()).where(*_leader_case_conditions(scope, filters))
            .with_hint(cases, LEADER_INDEX, dialect_name="sqlite")
            .group_by(cases.c.leader_id))
    grouped = pd.DataFrame(conn.execute(stmt).all(), columns=columns[:-1])
    if grouped.empty:
        return pd.DataFrame(columns=columns)
    for column in columns[1:-1]:
        grouped[column] = grouped[column].fillna(0).astype("int64")
    grouped["steps_completion"] = grouped["steps_done"] / (grouped["cases"] * STEP_COUNT)
    return grouped[columns]


def _leader_case_conditions(scope: Scope, filters: Filters) -> list:
    return [*_case_scope(scope, filters), cases.c.is_backlog.is_(True), cases.c.leader_id.is_not(None),
            cases.c.registered_on <= filters.as_of]


def _with_plans():
    return (cases.outerjoin(case_plans, case_plans.c.case_id == cases.c.id)
            .outerjoin(units, units.c.id == case_plans.c.responsible_unit_id))


def _missing_parts() -> dict:
    """The 定 a case's 四定四包 plan lacks (定领导 is the leader, always there)."""
    return {"missing_measures": sa.func.coalesce(case_plans.c.measures, "") == "",
            "missing_time": case_plans.c.target_date.is_(None),
            "missing_responsibility": sa.or_(case_plans.c.responsible_person.is_(None), units.c.name.is_(None))}


def _steps_done(filters: Filters):
    # each case's steps counted by a seek on the steps' key (case_id, step), not by
    # grouping every step of the city first
    return (sa.select(sa.func.count()).where(case_steps.c.case_id == cases.c.id,
                                             case_steps.c.done_on <= filters.as_of)
            .scalar_subquery())


def _leader_case_frame(conn: Connection, scope: Scope, filters: Filters, leader_id: int) -> pd.DataFrame:
    """One leader's backlog cases with their plan, what it lacks and the steps done."""
    missing = _missing_parts()
    stmt = (sa.select(cases.c.id.label("case_id"), cases.c.case_no, cases.c.leader_id, cases.c.resolved_on,
                      cases.c.clearance_target, case_plans.c.measures, case_plans.c.target_date,
                      case_plans.c.responsible_person, units.c.name.label("responsible_unit"),
                      _steps_done(filters).label("steps_done"),
                      *[sa.case((condition, 1), else_=0).label(name) for name, condition in missing.items()])
            .select_from(_with_plans())
            .where(*_leader_case_conditions(scope, filters), cases.c.leader_id == leader_id)
            .order_by(cases.c.registered_on, cases.c.case_no))
    frame = read_frame(conn, stmt)
    if frame.empty:
        return frame
    frame["plan_complete"] = 1 - (frame[list(missing)].sum(axis=1) > 0).astype("int64")
    for column in (*missing, "plan_complete", "steps_done"):
        frame[column] = frame[column].astype("int64")
    return frame


def leader_case_plans(conn: Connection, scope: Scope, filters: Filters, leader_id: int) -> pd.DataFrame:
    """One leader's backlog cases with their four 定 (定领导 is the leader) and 2453
    steps: done, and the missing ones (short names: 2见面 is the second 见面)."""
    frame = _leader_case_frame(conn, scope, filters, leader_id)
    if frame.empty:
        return frame.assign(steps_missing=pd.Series(dtype="object"))
    done = read_frame(conn, sa.select(case_steps.c.case_id, case_steps.c.step).where(
        case_steps.c.case_id.in_(frame["case_id"].tolist()), case_steps.c.done_on <= filters.as_of))
    by_case = done.groupby("case_id")["step"].apply(set).to_dict() if not done.empty else {}
    frame["steps_missing"] = [
        "、".join(STEP_SHORT[s] for s in STEPS if s not in by_case.get(case_id, set()))
        for case_id in frame["case_id"]]
    return frame
