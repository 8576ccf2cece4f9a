"""Time-limit presets and the one deadline calculator (domain.md §4).

Presets are data (seeded into `rule_presets`, editable by an administrator); each
county, optionally per case track, selects one in `rule_assignments` from a date on;
the city default is the national rule. A case's acceptance, handling, feedback and
meeting deadlines derive from its dates, its track and the preset in force in its
county on its registration date, and are stored on the case so that every query, page
and indicator reads the same values. `recompute` refreshes them after anything they
depend on changes (case import, holiday import, preset assignment or edit, extension).

Closed cases keep the deadlines they were handled under: a closed case keeps its
stored preset, and changes of rules (assignments, edited limits) recompute open cases
only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.db import read_frame
from dashboard.labels import TRACKS
from dashboard.models import (
    case_events,
    case_extensions,
    cases,
    regions,
    rule_assignments,
    rule_presets,
)
from dashboard.workdays import (
    CALENDAR,
    UNITS,
    WORKING,
    WorkCalendar,
    import_holidays,
    load_calendar,
)

DEFAULT_PRESET = "national"
ALL_TRACKS = "*"
MAX_LIMIT_DAYS = 365

# domain.md §4. Local presets count limits of 5 days or fewer in working days and longer
# ones in calendar days; the national rule counts calendar days.
DEFAULT_PRESETS = [
    dict(name="national", title="国家《信访工作条例》", acceptance_days=15, acceptance_unit=CALENDAR,
         handling_days=60, handling_unit=CALENDAR, extension_max_days=30, extension_unit=CALENDAR,
         max_extensions=1, review_days=30, review_unit=CALENDAR,
         note="15 日内决定是否受理并告知；自受理之日起 60 日内办结；可延期一次，不超过 30 日；复查、复核各 30 日"),
    dict(name="tongling-210", title="铜陵“210”一般事项", acceptance_days=2, acceptance_unit=WORKING,
         handling_days=10, handling_unit=CALENDAR, note="2 个工作日内受理，10 日内办结"),
    dict(name="tongling-110", title="铜陵“110”简易程序", acceptance_days=1, acceptance_unit=WORKING,
         handling_days=10, handling_unit=CALENDAR, note="1 个工作日内受理，10 日内办结"),
    dict(name="tongling-100", title="铜陵“100”咨询建议", acceptance_days=0, acceptance_unit=WORKING,
         handling_days=0, handling_unit=WORKING, note="当日受理、当日答复"),
    dict(name="weifang-520", title="潍坊“520”", acceptance_days=5, acceptance_unit=WORKING,
         handling_days=20, handling_unit=CALENDAR, note="5 个工作日内受理，20 日内办结"),
    dict(name="green-channel", title="潍坊绿色通道（敏感信件）", acceptance_days=5, acceptance_unit=WORKING,
         handling_days=20, handling_unit=CALENDAR, feedback_days=7, feedback_unit=CALENDAR,
         note="7 日内初步反馈，20 日内办结"),
    dict(name="double-sign", title="潍坊“双签”（初信初访）", acceptance_days=15, acceptance_unit=CALENDAR,
         handling_days=60, handling_unit=CALENDAR, extension_max_days=30, extension_unit=CALENDAR,
         max_extensions=1, meeting_days=3, meeting_unit=WORKING,
         note="初信初访 3 个工作日内与信访人见面并双方签字；其余时限同国家条例"),
]
PRESET_NAMES = tuple(p["name"] for p in DEFAULT_PRESETS)

LIMITS = ("acceptance", "handling", "extension", "review", "feedback", "meeting")
# limit -> (days column, unit column) of `rule_presets`
LIMIT_COLUMNS = {
    "acceptance": ("acceptance_days", "acceptance_unit"),
    "handling": ("handling_days", "handling_unit"),
    "extension": ("extension_max_days", "extension_unit"),
    "review": ("review_days", "review_unit"),
    "feedback": ("feedback_days", "feedback_unit"),
    "meeting": ("meeting_days", "meeting_unit"),
}
LIMIT_NAMES = {"acceptance": "受理", "handling": "办理", "extension": "延期（每次至多）",
               "review": "复查、复核", "feedback": "初步反馈", "meeting": "见面（初信初访）"}


def describe_limit(days: int | None, unit: str) -> str:
    """A limit in words: 当日, 15 日, 2 个工作日; empty when the preset has none."""
    if days is None:
        return ""
    if days == 0:
        return "当日"
    return f"{days} 个工作日" if unit == WORKING else f"{days} 日"


class RuleError(ValueError):
    """A rule change or extension that cannot be made; the message is in Chinese."""


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    acceptance_days: int
    acceptance_unit: str
    handling_days: int
    handling_unit: str
    extension_max_days: int = 0
    extension_unit: str = CALENDAR
    max_extensions: int = 0
    review_days: int | None = None
    review_unit: str = CALENDAR
    feedback_days: int | None = None
    feedback_unit: str = CALENDAR
    meeting_days: int | None = None
    meeting_unit: str = WORKING
    note: str | None = None
    updated_by: str | None = None
    updated_at: dt.datetime | None = None

    def limit(self, limit: str) -> tuple[int | None, str]:
        days, unit = LIMIT_COLUMNS[limit]
        value = getattr(self, days)
        if limit == "extension" and not self.max_extensions:
            value = None
        return value, getattr(self, unit)


def seed_presets(conn: Connection) -> None:
    """Insert the default presets that are missing (existing ones are left as edited)."""
    existing = set(conn.execute(sa.select(rule_presets.c.name)).scalars())
    missing = [
        {**{column.name: column.default.arg if column.default is not None else None
            for column in rule_presets.columns}, **preset}
        for preset in DEFAULT_PRESETS
        if preset["name"] not in existing
    ]
    if missing:
        conn.execute(rule_presets.insert(), missing)


def load_presets(conn: Connection) -> dict[str, Preset]:
    rows = conn.execute(sa.select(rule_presets)).mappings().all()
    return {row["name"]: Preset(**row) for row in rows}


# (region_code, track) -> [(effective_from, preset), ...] in date order
Assignments = dict[tuple[str, str], list[tuple[dt.date, str]]]


def load_assignments(conn: Connection) -> Assignments:
    rows = conn.execute(
        sa.select(rule_assignments.c.region_code, rule_assignments.c.track, rule_assignments.c.effective_from,
                  rule_assignments.c.preset)
        .order_by(rule_assignments.c.effective_from)
    ).all()
    history: Assignments = {}
    for row in rows:
        history.setdefault((row.region_code, row.track), []).append((row.effective_from, row.preset))
    return history


def assignment_history(conn: Connection, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every assignment ever made, per region and track in date order, with its status
    on `as_of` (default today): `in_force`, `superseded` (a later one is in force) or
    `scheduled` (starts later)."""
    as_of = as_of or config.today()
    rows = conn.execute(
        sa.select(rule_assignments, regions.c.name.label("region_name"), regions.c.level.label("region_level"))
        .join(regions, regions.c.code == rule_assignments.c.region_code)
        .order_by(rule_assignments.c.region_code, rule_assignments.c.track, rule_assignments.c.effective_from)
    ).mappings().all()
    frame = pd.DataFrame(rows, columns=["region_code", "track", "effective_from", "preset", "recorded_by",
                                        "recorded_at", "region_name", "region_level"])
    keys = list(zip(frame["region_code"], frame["track"], strict=True))
    current = {}  # rows are in date order: the last one started is in force
    for index, (key, start) in enumerate(zip(keys, frame["effective_from"], strict=True)):
        if start <= as_of:
            current[key] = index
    status = [
        "scheduled" if start > as_of else ("in_force" if current[key] == index else "superseded")
        for index, (key, start) in enumerate(zip(keys, frame["effective_from"], strict=True))
    ]
    return frame.assign(status=pd.Series(status, index=frame.index, dtype=object))


def city_code(conn: Connection) -> str | None:
    return conn.execute(
        sa.select(regions.c.code).where(regions.c.level == "city").order_by(regions.c.code).limit(1)
    ).scalar()


def preset_names(frame: pd.DataFrame, assignments: Assignments, city: str | None) -> pd.Series:
    """The preset of each case (columns county_code, track, registered_on): the
    assignment in force on its registration date for its county and track, else its
    county, else the city and track, else the city, else the national rule."""
    result = pd.Series(DEFAULT_PRESET, index=frame.index, dtype="object")
    if frame.empty or not assignments:
        return result
    tracks = frame["track"].fillna("general").to_numpy(object)
    counties = frame["county_code"].to_numpy(object)
    registered = pd.to_datetime(frame["registered_on"]).to_numpy("datetime64[D]")

    def specificity(key: tuple[str, str]) -> int:
        region, track = key
        return (2 if region != city else 0) + (1 if track != ALL_TRACKS else 0)

    values = result.to_numpy(object).copy()
    for key in sorted(assignments, key=specificity):  # later, more specific rules win
        region, track = key
        rows = np.ones(len(frame), dtype=bool) if region == city else counties == region
        if track != ALL_TRACKS:
            rows &= tracks == track
        if not rows.any():
            continue
        history = assignments[key]
        starts = np.array([day for day, _ in history], dtype="datetime64[D]")
        names = np.array([name for _, name in history], dtype=object)
        position = np.searchsorted(starts, registered, side="right") - 1
        in_force = rows & (position >= 0)
        values[in_force] = names[position[in_force]]
    return pd.Series(values, index=frame.index, dtype="object")


def compute(frame: pd.DataFrame, presets: dict[str, Preset], calendar: WorkCalendar) -> pd.DataFrame:
    """Deadlines of each case. Input columns: registered_on, accepted_on, preset,
    extension_days and optionally is_repeat (missing: a first petition). Output:
    acceptance_due, handling_due, feedback_due, meeting_due (datetime.date or None) and
    deadline_provisional. The double-sign meeting applies to first petitions only."""
    out = pd.DataFrame(index=frame.index)
    registered = pd.to_datetime(frame["registered_on"]).to_numpy("datetime64[D]")
    accepted = pd.to_datetime(frame["accepted_on"]).to_numpy("datetime64[D]")
    extension = frame["extension_days"].fillna(0).astype("int64").to_numpy()
    first_petition = (
        ~frame["is_repeat"].fillna(False).astype(bool).to_numpy() if "is_repeat" in frame
        else np.ones(len(frame), dtype=bool)
    )
    columns = {name: np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[D]")
               for name in ("acceptance_due", "handling_due", "feedback_due", "meeting_due")}
    provisional = np.zeros(len(frame), dtype=bool)
    names = frame["preset"].to_numpy()
    for name in pd.unique(names):
        preset = presets.get(name) or presets[DEFAULT_PRESET]
        rows = names == name

        def put(column, starts, days, unit, rows=rows):
            due, prov = calendar.add(starts[rows], days, unit)
            columns[column][rows] = due
            provisional[rows] |= prov & ~np.isnat(due)

        put("acceptance_due", registered, preset.acceptance_days, preset.acceptance_unit)
        put("handling_due", accepted, preset.handling_days, preset.handling_unit)
        if preset.feedback_days is not None:
            put("feedback_due", registered, preset.feedback_days, preset.feedback_unit)
        if preset.meeting_days is not None:
            put("meeting_due", registered, preset.meeting_days, preset.meeting_unit, rows & first_petition)
        extended = rows & (extension > 0) & ~np.isnat(columns["handling_due"])
        if extended.any():
            due, prov = calendar.add(columns["handling_due"][extended], extension[extended],
                                     preset.extension_unit)
            columns["handling_due"][extended] = due
            provisional[extended] |= prov
    for name, values in columns.items():
        # datetime64[D] -> datetime.date, NaT -> None
        out[name] = pd.Series(values.astype(object), index=frame.index, dtype=object)
    out["deadline_provisional"] = provisional
    return out


_INPUTS = ("id", "registered_on", "accepted_on", "closed_on", "track", "county_code", "extension_days",
           "is_repeat")
_OUTPUTS = ("preset", "acceptance_due", "handling_due", "feedback_due", "meeting_due", "deadline_provisional")


def not_closed() -> sa.ColumnElement[bool]:
    """Cases whose deadlines follow changes of the rules: those not closed."""
    return cases.c.closed_on.is_(None)


def import_schedule(conn: Connection, rows) -> tuple[list, int]:
    """Store holiday rows (`workdays.import_holidays`) and recompute the deadlines they
    touch: cases not closed, and closed cases whose deadlines were provisional (their
    year now has a schedule); other closed cases keep their deadlines. Returns the
    import plans and the number of cases whose deadlines changed."""
    plans = import_holidays(conn, rows)
    return plans, recompute(conn, sa.or_(not_closed(), cases.c.deadline_provisional.is_(True)))


def _rules(conn: Connection) -> tuple:
    """What deadlines are computed from: presets, their assignments, the city, the calendar."""
    presets = load_presets(conn)
    if DEFAULT_PRESET not in presets:
        seed_presets(conn)
        presets = load_presets(conn)
    return presets, load_assignments(conn), city_code(conn), load_calendar(conn)


def _deadlines(frame: pd.DataFrame, presets, assignments, city, calendar) -> pd.DataFrame:
    """`compute` with each case's preset: an open case takes the preset in force on its
    registration date; a closed case keeps the preset stored with it."""
    resolved = preset_names(frame, assignments, city)
    keep = frame["closed_on"].notna() & frame["preset"].isin(list(presets))
    names = frame["preset"].where(keep, resolved)
    new = compute(frame.assign(preset=names), presets, calendar)
    new["preset"] = names
    return new


def fill_new_deadlines(conn: Connection, rows: list[dict]) -> None:
    """Write the deadlines (and preset) into the dicts of cases about to be inserted, by
    the rules `recompute` applies, so that an import writes each new case once."""
    if not rows:
        return
    frame = pd.DataFrame({key: [row.get(key) for row in rows]
                          for key in ("registered_on", "accepted_on", "closed_on", "track", "county_code",
                                      "is_repeat")})
    frame["extension_days"] = 0
    frame["preset"] = None
    new = _deadlines(frame, *_rules(conn))
    for column in _OUTPUTS:  # dates (None when a limit does not apply), preset names, booleans
        for row, value in zip(rows, new[column].tolist(), strict=True):
            row[column] = value


def recompute(conn: Connection, *conditions: sa.ColumnElement[bool], batch: int = 200_000,
              keep_summaries: bool = True) -> int:
    """Recompute and store the deadlines of the cases matching `conditions` (all cases
    without). An open case takes the preset in force on its registration date; a closed
    case keeps the preset stored with it. Returns the number of cases whose stored
    deadlines changed. The summaries follow the cases whose deadlines changed
    (`keep_summaries=False`: the caller rebuilds them afterwards)."""
    from dashboard import summaries

    rules = _rules(conn)
    changed = 0
    last_id = 0
    columns = list(dict.fromkeys(_INPUTS + _OUTPUTS))
    while True:
        stmt = (
            sa.select(*[cases.c[c] for c in columns])
            .where(*conditions, cases.c.id > last_id)
            .order_by(cases.c.id)
            .limit(batch)
        )
        frame = read_frame(conn, stmt)
        if frame.empty:
            return changed
        last_id = int(frame["id"].iloc[-1])
        new = _deadlines(frame, *rules)
        old = frame[list(_OUTPUTS)].copy()
        for column in ("acceptance_due", "handling_due", "feedback_due", "meeting_due"):
            stored = pd.to_datetime(old[column]).to_numpy("datetime64[D]")
            old[column] = pd.Series(stored.astype(object), index=old.index, dtype=object)
        old["deadline_provisional"] = old["deadline_provisional"].fillna(False).astype(bool)
        differs = np.zeros(len(frame), dtype=bool)
        for column in _OUTPUTS:
            differs |= ~(old[column].to_numpy(object) == new[column].to_numpy(object))
        if differs.any():
            updates = new[differs].assign(_id=frame.loc[differs, "id"].to_numpy())
            records = [
                {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
                for row in updates.astype(object).where(updates.notna(), None).to_dict("records")
            ]
            changed_ids = [record["_id"] for record in records]
            if keep_summaries:
                summaries.retract_cases(conn, changed_ids)
            conn.execute(
                cases.update()
                .where(cases.c.id == sa.bindparam("_id"))
                .values({c: sa.bindparam(c) for c in _OUTPUTS}),
                records,
            )
            if keep_summaries:
                summaries.refresh_cases(conn, changed_ids)
            changed += int(differs.sum())


def _region_level(conn: Connection, region_code: str) -> str:
    level = conn.execute(sa.select(regions.c.level).where(regions.c.code == region_code)).scalar()
    if level is None:
        raise RuleError(f"区划代码 {region_code} 不存在，请检查代码（县区 6 位；全市默认用市代码）。")
    if level not in ("city", "county"):
        raise RuleError(f"区划代码 {region_code} 不是市或县区，请用 6 位县区代码（时限规则按县区设置）。")
    return level


def assign_preset(
    conn: Connection, region_code: str, preset: str, track: str | None = None, *,
    effective_from: dt.date | None = None, by: str = "",
) -> int:
    """Set the preset a county (or the city default) uses, for one track or all, for
    cases registered from `effective_from` on (default today). Earlier cases keep the
    assignment that was in force when they were registered; closed cases are never
    recomputed. Another assignment of the same region and track from the same date is
    replaced. Returns the number of open cases whose deadlines changed."""
    presets = load_presets(conn)
    if preset not in presets:
        raise RuleError(f"没有名为 {preset!r} 的规则。可用：{'、'.join(sorted(presets))}")
    track = track or ALL_TRACKS
    if track != ALL_TRACKS and track not in TRACKS:
        raise RuleError(f"办理程序 {track!r} 不存在。可用：{'、'.join(TRACKS)}")
    level = _region_level(conn, region_code)
    effective_from = effective_from or config.today()
    key = {"region_code": region_code, "track": track, "effective_from": effective_from}
    conn.execute(rule_assignments.delete().where(*[rule_assignments.c[k] == v for k, v in key.items()]))
    conn.execute(rule_assignments.insert().values(
        **key, preset=preset, recorded_by=by or None, recorded_at=dt.datetime.now().replace(microsecond=0)))
    affected = [not_closed(), cases.c.registered_on >= effective_from]
    if level == "county":
        affected.append(cases.c.county_code == region_code)
    return recompute(conn, *affected)


def edit_preset(
    conn: Connection, name: str, limit: str, *, days: int | None = None, unit: str | None = None, by: str = "",
) -> int:
    """Change one limit of a preset (its days, whether it counts calendar or working
    days, or both) and recompute the cases under it that are not closed; closed cases
    keep their stored deadlines. For `extension`, 0 days means no extension and a
    positive number allows one extension if the preset allowed none. Returns the number
    of open cases whose deadlines changed."""
    presets = load_presets(conn)
    if name not in presets:
        raise RuleError(f"没有名为 {name!r} 的规则。可用：{'、'.join(sorted(presets))}")
    if limit not in LIMIT_COLUMNS:
        raise RuleError(f"时限 {limit!r} 不存在。可改：{'、'.join(f'{k}（{v}）' for k, v in LIMIT_NAMES.items())}")
    if days is None and unit is None:
        raise RuleError("请给出新的天数（--days）或计数方式（--unit calendar 自然日 / working 工作日），或两者。")
    if unit is not None and unit not in UNITS:
        raise RuleError(f"计数方式 {unit!r} 不对：应为 calendar（自然日）或 working（工作日）。")
    if days is not None and not 0 <= days <= MAX_LIMIT_DAYS:
        raise RuleError(f"天数 {days} 超出范围：应为 0 至 {MAX_LIMIT_DAYS}（0 表示当日）。")
    preset = presets[name]
    current, _ = preset.limit(limit)
    if current is None and days is None:
        raise RuleError(f"“{preset.title}”没有{LIMIT_NAMES[limit]}时限，请用 --days 给出天数。")
    days_column, unit_column = LIMIT_COLUMNS[limit]
    values: dict = {"updated_by": by or None, "updated_at": dt.datetime.now().replace(microsecond=0)}
    if days is not None:
        values[days_column] = days
    if unit is not None:
        values[unit_column] = unit
    if limit == "extension" and days is not None:
        if days == 0:
            values["max_extensions"] = 0
        elif not preset.max_extensions:
            values["max_extensions"] = 1
    conn.execute(rule_presets.update().where(rule_presets.c.name == name).values(**values))
    if limit == "review":  # no stored deadline depends on it
        return 0
    # (cases without a stored preset have never been computed: they may fall under it)
    return recompute(conn, not_closed(), sa.or_(cases.c.preset == name, cases.c.preset.is_(None)))


def extend(
    conn: Connection, case_no: str, days: int, *, reason: str, approver: str, on: dt.date
) -> dt.date:
    """Approve an extension of a case's handling deadline; returns the new deadline.

    Refused when the case is not being handled, its handling deadline has already
    passed (an extension must be approved before the deadline expires), the preset
    allows no (more) extension, or the days exceed the preset's maximum."""
    row = conn.execute(
        sa.select(cases.c.id, cases.c.accepted_on, cases.c.closed_on, cases.c.preset,
                  cases.c.extension_days, cases.c.handling_due)
        .where(cases.c.case_no == case_no)
    ).first()
    if row is None:
        raise RuleError(f"信访件编号 {case_no} 不存在。")
    if not reason.strip() or not approver.strip():
        raise RuleError("延期须写明理由和批准人。")
    if row.accepted_on is None or row.closed_on is not None:
        raise RuleError(f"{case_no} 不在办理中（未受理或已办结），不能延期。")
    if row.handling_due is not None and on > row.handling_due:
        raise RuleError(
            f"{case_no} 的办理期限 {row.handling_due:%Y-%m-%d} 已过（今天 {on:%Y-%m-%d}），不能再延期："
            "延期须在办理期限届满前批准。该件按超期督办处理。"
        )
    preset = load_presets(conn).get(row.preset or DEFAULT_PRESET)
    used = conn.execute(
        sa.select(sa.func.count()).select_from(case_extensions).where(case_extensions.c.case_id == row.id)
    ).scalar_one()
    if preset.max_extensions <= 0:
        raise RuleError(f"{case_no} 适用“{preset.title}”，该规则不允许延期。")
    if used >= preset.max_extensions:
        raise RuleError(f"{case_no} 已延期 {used} 次，“{preset.title}”最多延期 {preset.max_extensions} 次。")
    if days < 1 or days > preset.extension_max_days:
        raise RuleError(
            f"延期天数 {days} 超出范围：“{preset.title}”每次延期 1 至 {preset.extension_max_days} 日。"
        )
    conn.execute(case_extensions.insert().values(
        case_id=row.id, days=days, reason=reason.strip(), approver=approver.strip(), approved_on=on))
    conn.execute(cases.update().where(cases.c.id == row.id).values(extension_days=(row.extension_days or 0) + days))
    conn.execute(case_events.insert().values(
        case_id=row.id, kind="extended", at=dt.datetime.combine(on, dt.time(9, 0)), actor=approver.strip(),
        note=f"延期 {days} 日：{reason.strip()}"))
    recompute(conn, cases.c.id == row.id)
    return conn.execute(sa.select(cases.c.handling_due).where(cases.c.id == row.id)).scalar_one()
