"""Early warnings (一单三推): the day's warnings worked out from the cases with
`dashboard.warnings_rule`, stored as one record each (一单) with its three deliveries
(三推: the city's leaders, the township's party committee and government, the competent
unit) and status history. Writes go through `dashboard.actions`.

A warning is about a township and an issue (a domain, collective visits or escalated
visits); it names no case and no person.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import warnings_rule
from dashboard.labels import COLLECTIVE_VISIT, ESCALATED
from dashboard.models import (
    cases,
    early_warnings,
    regions,
    sensitive_periods,
    units,
    warning_deliveries,
    warning_events,
)

COLLECTIVE_MIN_PERSONS = 5  # 集体访: a visit (来访) of five or more persons


class WarningError(ValueError):
    """A warning step that cannot be taken (Chinese message)."""


def sensitive_on(conn: Connection, day: dt.date) -> list[str]:
    """Names of the sensitive periods that contain `day`."""
    return list(conn.execute(sa.select(sensitive_periods.c.name).where(
        sensitive_periods.c.starts_on <= day, sensitive_periods.c.ends_on >= day)
        .order_by(sensitive_periods.c.starts_on)).scalars())


def _events(conn: Connection, day: dt.date) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """(events per cell, the city's cases per day, every cell) for a scan on `day`."""
    since = day - dt.timedelta(days=2 * 365 + 2 * max(warnings_rule.WINDOWS))
    rows = conn.execute(sa.select(
        cases.c.township_code, cases.c.county_code, cases.c.domain, cases.c.registered_on, cases.c.channel,
        cases.c.persons, cases.c.escalation,
    ).where(cases.c.registered_on.between(since, day), cases.c.township_code.is_not(None))).all()
    frame = pd.DataFrame(rows, columns=["region", "county", "domain", "day", "channel", "persons", "escalation"])
    city_daily = frame.groupby("day").size()
    collective = frame[(frame["channel"] == "visit") & (frame["persons"] >= COLLECTIVE_MIN_PERSONS)]
    escalated = frame[frame["escalation"].isin(["province", "beijing"])]
    events = pd.concat([frame, collective.assign(domain=COLLECTIVE_VISIT), escalated.assign(domain=ESCALATED)],
                       ignore_index=True)
    towns = conn.execute(sa.select(regions.c.code).where(regions.c.level == "township")).scalars().all()
    kinds = sorted(set(frame["domain"]) | {COLLECTIVE_VISIT, ESCALATED})
    cells = pd.MultiIndex.from_product([towns, kinds], names=["region", "domain"]).to_frame(index=False)
    return events, city_daily, cells


def scan_day(conn: Connection, day: dt.date) -> pd.DataFrame:
    """Every cell and window on `day` with the rule's figures (flagged or not)."""
    events, city_daily, cells = _events(conn, day)
    sensitive = bool(sensitive_on(conn, day))
    return warnings_rule.scan(events, day, city_daily=city_daily, sensitive=sensitive, cells=cells)


def flagged(conn: Connection, day: dt.date) -> pd.DataFrame:
    """The cells flagged on `day`, with their county; a cell flagged on both windows
    appears twice (one warning per window)."""
    result = scan_day(conn, day)
    result = result[result["flagged"]].reset_index(drop=True)
    parents = dict(conn.execute(sa.select(regions.c.code, regions.c.parent_code)
                                .where(regions.c.level == "township")).all())
    result["county_code"] = result["region"].map(parents)
    return result


def _competent_unit(conn: Connection, day: dt.date, region: str, domain: str, window: int):
    """The unit most often named as competent (主管部门) on the cell's cases in the
    window, else over the last year; else the county's government."""
    for days in (window, 365):
        condition = [cases.c.township_code == region,
                     cases.c.registered_on.between(day - dt.timedelta(days=days - 1), day),
                     cases.c.competent_unit_id.is_not(None)]
        if domain == COLLECTIVE_VISIT:
            condition += [cases.c.channel == "visit", cases.c.persons >= COLLECTIVE_MIN_PERSONS]
        elif domain == ESCALATED:
            condition.append(cases.c.escalation.in_(["province", "beijing"]))
        else:
            condition.append(cases.c.domain == domain)
        row = conn.execute(sa.select(units.c.id, units.c.name, units.c.region_code, sa.func.count().label("n"))
                           .select_from(cases.join(units, units.c.id == cases.c.competent_unit_id))
                           .where(*condition).group_by(units.c.id, units.c.name, units.c.region_code)
                           .order_by(sa.desc("n"), units.c.id).limit(1)).first()
        if row is not None:
            return row.id, row.name, row.region_code
    county = conn.execute(sa.select(regions.c.parent_code).where(regions.c.code == region)).scalar()
    row = conn.execute(sa.select(units.c.id, units.c.name, units.c.region_code)
                       .where(units.c.region_code == county, units.c.kind == "county_gov").limit(1)).first()
    if row is not None:
        return row.id, row.name, row.region_code
    return None, "主管部门（待指定）", county


def raise_warnings(conn: Connection, day: dt.date, *, by: str, now: dt.datetime) -> tuple[int, int]:
    """Store the warnings flagged on `day` that are not stored yet, each with its three
    deliveries and a `raised` event. Idempotent per day: raising a day again adds only
    what is new. Returns (new, total flagged)."""
    found = flagged(conn, day)
    if found.empty:
        return 0, 0
    city = conn.execute(sa.select(regions.c.code, regions.c.name).where(regions.c.level == "city")
                        .order_by(regions.c.code).limit(1)).one()
    names = dict(conn.execute(sa.select(regions.c.code, regions.c.name)).all())
    existing = set(conn.execute(sa.select(early_warnings.c.region_code, early_warnings.c.domain,
                                          early_warnings.c.window_days)
                                .where(early_warnings.c.raised_on == day)).all())
    new = 0
    for row in found.itertuples():
        key = (row.region, row.domain, int(row.window_days))
        if key in existing:
            continue
        warning_id = conn.execute(early_warnings.insert().values(
            raised_on=day, region_code=row.region, county_code=row.county_code, domain=row.domain,
            window_days=int(row.window_days), observed=int(row.observed), baseline=int(row.baseline),
            expected=float(row.expected), p_value=float(row.p_value), level=float(row.level),
            sensitive=bool(row.sensitive), status="raised", raised_by=by, raised_at=now,
        )).inserted_primary_key[0]
        unit_id, unit_name, unit_region = _competent_unit(conn, day, row.region, row.domain, int(row.window_days))
        conn.execute(warning_deliveries.insert(), [
            dict(warning_id=warning_id, recipient="city", recipient_name=f"{city.name}委、{city.name}政府",
                 region_code=city.code, unit_id=None, delivered_at=now),
            dict(warning_id=warning_id, recipient="territory", recipient_name=f"{names[row.region]}党委、政府",
                 region_code=row.region, unit_id=None, delivered_at=now),
            dict(warning_id=warning_id, recipient="competent", recipient_name=unit_name,
                 region_code=unit_region or city.code, unit_id=unit_id, delivered_at=now),
        ])
        conn.execute(warning_events.insert().values(warning_id=warning_id, kind="raised", at=now, actor=by,
                                                    note="推送 3 个接收方"))
        existing.add(key)
        new += 1
    return new, len(found)


def delivery(conn: Connection, delivery_id: int):
    row = conn.execute(sa.select(warning_deliveries, early_warnings.c.status.label("warning_status"))
                       .select_from(warning_deliveries.join(early_warnings,
                                                            early_warnings.c.id == warning_deliveries.c.warning_id))
                       .where(warning_deliveries.c.id == delivery_id)).mappings().first()
    if row is None:
        raise WarningError(f"预警推送记录 #{delivery_id} 不存在，请刷新页面后重试。")
    return row


def warning_row(conn: Connection, warning_id: int):
    row = conn.execute(sa.select(early_warnings).where(early_warnings.c.id == warning_id)).mappings().first()
    if row is None:
        raise WarningError(f"预警 #{warning_id} 不存在，请核对编号。")
    return row


def _set_status(conn: Connection, warning_id: int, status: str) -> None:
    order = ["raised", "acknowledged", "acting", "closed"]
    current = conn.execute(sa.select(early_warnings.c.status).where(early_warnings.c.id == warning_id)).scalar()
    if order.index(status) > order.index(current):
        conn.execute(early_warnings.update().where(early_warnings.c.id == warning_id).values(status=status))


def acknowledge(conn: Connection, delivery_id: int, *, by: str, now: dt.datetime) -> None:
    row = delivery(conn, delivery_id)
    if row["warning_status"] == "closed":
        raise WarningError(f"预警 #{row['warning_id']} 已关闭，无需签收。")
    if row["acknowledged_at"] is not None:
        raise WarningError(f"该预警已于 {row['acknowledged_at']:%Y-%m-%d %H:%M} 由 {row['acknowledged_by']} 签收。")
    conn.execute(warning_deliveries.update().where(warning_deliveries.c.id == delivery_id)
                 .values(acknowledged_at=now, acknowledged_by=by))
    conn.execute(warning_events.insert().values(warning_id=row["warning_id"], delivery_id=delivery_id,
                                                kind="acknowledged", at=now, actor=by, note=row["recipient_name"]))
    _set_status(conn, row["warning_id"], "acknowledged")


def act(conn: Connection, delivery_id: int, note: str, *, by: str, now: dt.datetime) -> None:
    note = (note or "").strip()
    if len(note) < 4:
        raise WarningError("请写明采取的措施（至少 4 个字），例如：已组织专班排查化解。")
    if len(note) > 2000:
        raise WarningError(f"处置情况最多 2000 字，现为 {len(note)} 字，请精简。")
    row = delivery(conn, delivery_id)
    if row["warning_status"] == "closed":
        raise WarningError(f"预警 #{row['warning_id']} 已关闭，不能再填报处置情况。")
    values = dict(acted_at=now, acted_by=by, action_note=note)
    if row["acknowledged_at"] is None:  # acting on it acknowledges it
        values.update(acknowledged_at=now, acknowledged_by=by)
    conn.execute(warning_deliveries.update().where(warning_deliveries.c.id == delivery_id).values(**values))
    conn.execute(warning_events.insert().values(warning_id=row["warning_id"], delivery_id=delivery_id,
                                                kind="acted", at=now, actor=by, note=note))
    _set_status(conn, row["warning_id"], "acting")


def close(conn: Connection, warning_id: int, note: str, *, by: str, now: dt.datetime) -> None:
    note = (note or "").strip()
    if len(note) < 4:
        raise WarningError("请写明关闭理由（至少 4 个字），例如：问题已化解，访情回落。")
    row = warning_row(conn, warning_id)
    if row["status"] == "closed":
        raise WarningError(f"预警 #{warning_id} 已于 {row['closed_at']:%Y-%m-%d %H:%M} 关闭。")
    conn.execute(early_warnings.update().where(early_warnings.c.id == warning_id)
                 .values(status="closed", closed_at=now))
    conn.execute(warning_events.insert().values(warning_id=warning_id, kind="closed", at=now, actor=by,
                                                note=note[:2000]))


def add_sensitive_period(conn: Connection, name: str, starts_on: dt.date, ends_on: dt.date, *, by: str,
                         now: dt.datetime) -> int:
    name = (name or "").strip()
    if not name:
        raise WarningError("请填写敏感时期名称，例如：全国两会期间。")
    if len(name) > 50:
        raise WarningError(f"敏感时期名称最多 50 字，现为 {len(name)} 字。")
    if ends_on < starts_on:
        raise WarningError(f"结束日期 {ends_on} 早于开始日期 {starts_on}，请检查。")
    if (ends_on - starts_on).days > 366:
        raise WarningError("敏感时期最长一年，请分段录入。")
    return conn.execute(sensitive_periods.insert().values(name=name, starts_on=starts_on, ends_on=ends_on,
                                                          created_by=by, created_at=now)).inserted_primary_key[0]
