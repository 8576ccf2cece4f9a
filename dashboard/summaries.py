"""Summary tables kept in step with the cases (issue 13: a province on one server).

Two tables make the pages' figures fast at a million cases and more:

- `case_summaries`: the counts the pages show (received, online, collective and
  escalated batches and persons, accepted and timely accepted, closed, closed on time,
  evaluated, satisfied, backlog registered and resolved), by month × county × township
  × domain × channel. A case adds to the row of the month of each of its dates (received
  figures in its registration month, acceptance figures in its acceptance month, …), so
  a period of whole months is a sum over a few thousand rows; the days of a period that
  do not fill a month are counted from the cases (queries/summary.py).
  The grain follows the sidebar filters: period (by day: whole months from here, the
  rest from the cases), county / township, domain, channel.
- `case_colors`: the stage, current deadline, days left and color of every case that
  carries a color on one date (`summary_state` row `colors`), computed by the one color
  rule, `dashboard.rules.assign_colors`. Colors depend on today's date (days left
  shrink every day), so they are stored for one date and recomputed every day by
  `python -m dashboard refresh` (run it from cron after midnight; init and app start
  run it too); a page asking for another date falls back to computing the colors of
  its open cases in pandas with the same rule (slower, same result). Stored, not
  derived in SQL: a second, SQL version of the color rule would be a second definition
  that could drift from the first.

Every write keeps both in step in its own transaction: `retract_cases(conn, ids)`
before changing existing cases (their old contributions are subtracted) and
`refresh_cases(conn, ids)` after writing them (their new contributions are added and
their colors recomputed). `dashboard.deadlines.recompute` does this for the cases whose
deadlines it changes (extensions, rule and calendar changes, imports); the ledger
import around its inserts and updates; the sample load and `refresh` rebuild all.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.db import read_frame
from dashboard.models import case_colors, case_summaries, cases, summary_state

KEYS = ("month", "county_code", "township_code", "domain", "channel")
MEASURES = (
    "received", "online", "collective_batches", "collective_persons", "province_batches", "province_persons",
    "beijing_batches", "beijing_persons", "accepted", "timely", "closed", "on_time", "evaluated", "satisfied",
    "backlog_registered", "backlog_resolved",
)
SATISFIED = ("satisfied", "basic")
CHUNK = 5_000  # ids per IN list
COLORS = "colors"


def month_of(conn: Connection, column) -> sa.ColumnElement[int]:
    """yyyymm of a date column, as an integer."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.to_char(column, "YYYYMM"), sa.Integer)
    return sa.cast(sa.func.strftime("%Y%m", column), sa.Integer)


def _flag(condition) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _contributions(conn: Connection, condition) -> sa.Select:
    """Per (month, county, township, domain, channel): the summed contributions of the
    cases matching `condition`, one part per date a figure is counted on."""
    c = cases.c
    zero = sa.literal(0)
    keys = [c.county_code.label("county_code"), sa.func.coalesce(c.township_code, "").label("township_code"),
            c.domain.label("domain"), c.channel.label("channel")]

    def part(date_column, where, **values):
        columns = [month_of(conn, date_column).label("month"), *keys]
        columns += [(values[m] if m in values else zero).label(m) for m in MEASURES]
        # `condition` picks cases by id (or all of them): SQLite is told to use no index
        # but the rowid, else it reads every resolved backlog case by ix_cases_backlog_resolved
        return sa.select(*columns).where(condition, *where).with_hint(cases, "NOT INDEXED", dialect_name="sqlite")

    collective = c.is_collective.is_(True)
    received = part(
        c.registered_on, [c.registered_on.is_not(None)],
        received=sa.literal(1), online=_flag(c.channel == "online"),
        collective_batches=_flag(collective), collective_persons=sa.case((collective, c.persons), else_=0),
        province_batches=_flag(c.escalation == "province"),
        province_persons=sa.case((c.escalation == "province", c.persons), else_=0),
        beijing_batches=_flag(c.escalation == "beijing"),
        beijing_persons=sa.case((c.escalation == "beijing", c.persons), else_=0),
        backlog_registered=_flag(c.is_backlog.is_(True)),
    )
    accepted = part(c.accepted_on, [c.accepted_on.is_not(None)], accepted=sa.literal(1),
                    timely=_flag(c.accepted_on <= c.acceptance_due))
    closed = part(c.closed_on, [c.closed_on.is_not(None)], closed=sa.literal(1),
                  on_time=_flag(c.closed_on <= c.handling_due), evaluated=_flag(c.satisfaction.is_not(None)),
                  satisfied=_flag(c.satisfaction.in_(SATISFIED)))
    resolved = part(c.resolved_on, [c.is_backlog.is_(True), c.resolved_on.is_not(None)],
                    backlog_resolved=sa.literal(1))
    union = sa.union_all(received, accepted, closed, resolved).subquery("contribution")
    return (
        sa.select(*[union.c[k] for k in KEYS], *[sa.func.sum(union.c[m]).label(m) for m in MEASURES])
        .group_by(*[union.c[k] for k in KEYS])
    )


ALL = "*"  # rollup rows: every domain and/or every channel (the pages' default, no filter)
ROLLUPS = (("domain",), ("channel",), ("domain", "channel"))


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(case_summaries)


def _apply(conn: Connection, condition, sign: int) -> None:
    """Add (sign +1) or subtract (-1) the contributions of the cases matching `condition`:
    one statement, the detailed rows and their rollups over every domain, every channel
    and both upserted from the cases (nothing goes through Python: an import of 100,000
    cases touches some 100,000 summary rows)."""
    detail = _contributions(conn, condition).cte("detail")  # used four times: materialised once
    parts = [sa.select(*[detail.c[k] for k in KEYS], *[(detail.c[m] * sign).label(m) for m in MEASURES])]
    for columns in ROLLUPS:
        keys = [sa.literal(ALL).label(k) if k in columns else detail.c[k] for k in KEYS]
        parts.append(sa.select(*keys, *[(sa.func.sum(detail.c[m]) * sign).label(m) for m in MEASURES])
                     .group_by(*[detail.c[k] for k in KEYS if k not in columns]))
    rows = sa.union_all(*parts).subquery("contribution_rows")
    # WHERE true: SQLite's INSERT … SELECT … ON CONFLICT needs it to parse
    select = sa.select(*[rows.c[k] for k in (*KEYS, *MEASURES)]).where(sa.true())
    stmt = _insert(conn).from_select([*KEYS, *MEASURES], select)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=list(KEYS), set_={m: case_summaries.c[m] + stmt.excluded[m] for m in MEASURES}))


def _chunks(case_ids) -> list[list[int]]:
    ids = sorted({int(i) for i in case_ids})
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _built(conn: Connection) -> bool:
    """Summaries exist (a database being loaded is rebuilt at the end instead)."""
    return conn.execute(
        sa.select(sa.func.count()).select_from(summary_state).where(summary_state.c.name == "counts")
    ).scalar_one() > 0


def retract_cases(conn: Connection, case_ids) -> None:
    """Subtract the current contributions of existing cases that are about to change."""
    if not _built(conn):
        return
    for chunk in _chunks(case_ids):
        _apply(conn, cases.c.id.in_(chunk), -1)


def refresh_cases(conn: Connection, case_ids, *, new_above: int | None = None) -> None:
    """Add the contributions of cases just written (new, or changed after
    `retract_cases`) and recompute their colors; `new_above`: also every case with a
    larger id (the cases an import just inserted, read by range rather than by id)."""
    if not _built(conn):
        return
    as_of = colors_as_of(conn)
    if new_above is not None:
        _apply(conn, cases.c.id > new_above, +1)
        if as_of is not None:
            _store_colors(conn, as_of, cases.c.id > new_above)
    for chunk in _chunks(case_ids):
        _apply(conn, cases.c.id.in_(chunk), +1)
        if as_of is not None:
            conn.execute(case_colors.delete().where(case_colors.c.case_id.in_(chunk)))
            _store_colors(conn, as_of, cases.c.id.in_(chunk))


def rebuild_counts(conn: Connection) -> None:
    conn.execute(case_summaries.delete())
    conn.execute(sa.insert(case_summaries).from_select([*KEYS, *MEASURES], _contributions(conn, sa.true())))
    t = case_summaries
    detailed = [t.c.domain != ALL, t.c.channel != ALL]
    for columns in ROLLUPS:
        keys = [sa.literal(ALL).label(k) if k in columns else t.c[k] for k in KEYS]
        grouped = [t.c[k] for k in KEYS if k not in columns]
        conn.execute(sa.insert(t).from_select([*KEYS, *MEASURES], sa.select(
            *keys, *[sa.func.sum(t.c[m]).label(m) for m in MEASURES]).where(*detailed).group_by(*grouped)))
    _mark(conn, "counts", None)


def _mark(conn: Connection, name: str, as_of: dt.date | None) -> None:
    conn.execute(summary_state.delete().where(summary_state.c.name == name))
    conn.execute(summary_state.insert().values(name=name, as_of=as_of,
                                               refreshed_at=dt.datetime.now().replace(microsecond=0)))


# --- colors ---

COLOR_INPUTS = ("id", "county_code", "township_code", "domain", "channel", "registered_on", "accepted_on",
                "acceptance_due", "handling_due", "closed_on", "resolved_on", "is_backlog", "clearance_target",
                "leader_id")


def colored_condition(as_of: dt.date) -> sa.ColumnElement[bool]:
    """Cases that carry a color on `as_of` (registered by then, not closed by then or a
    backlog case not resolved by then); `assign_colors` decides the color."""
    c = cases.c
    return sa.and_(c.registered_on <= as_of, sa.or_(
        c.closed_on.is_(None), c.closed_on > as_of,
        sa.and_(c.is_backlog.is_(True), sa.or_(c.resolved_on.is_(None), c.resolved_on > as_of))))


def _store_colors(conn: Connection, as_of: dt.date, condition, rules=None, batch: int = 200_000) -> int:
    from dashboard.rules import assign_colors, load_rules

    rules = rules or load_rules(conn)
    stored, last_id = 0, 0
    while True:
        frame = read_frame(conn, sa.select(*[cases.c[k] for k in COLOR_INPUTS])
                           .where(condition, colored_condition(as_of), cases.c.id > last_id)
                           .order_by(cases.c.id).limit(batch))
        if frame.empty:
            return stored
        last_id = int(frame["id"].iloc[-1])
        colored = assign_colors(frame, as_of, rules)
        colored = colored[colored["color"].notna()]
        if colored.empty:
            continue
        rows = colored.rename(columns={"id": "case_id"})[[c.name for c in case_colors.columns]]
        rows = rows.astype(object).where(rows.notna(), None)
        records = rows.to_dict("records")
        for record in records:
            record["is_backlog"] = bool(record["is_backlog"])
            if record["days_left"] is not None:
                record["days_left"] = int(record["days_left"])
            for key in ("registered_on", "deadline"):
                value = record[key]
                if value is not None and not isinstance(value, dt.date):
                    record[key] = dt.date.fromisoformat(str(value)[:10])
                elif isinstance(value, dt.datetime):
                    record[key] = value.date()
        conn.execute(case_colors.insert(), records)
        stored += len(records)


def rebuild_colors(conn: Connection, as_of: dt.date | None = None) -> int:
    """Recompute the stored colors of every case for `as_of` (default today)."""
    as_of = as_of or config.today()
    conn.execute(case_colors.delete())
    stored = _store_colors(conn, as_of, sa.true())
    _mark(conn, COLORS, as_of)
    return stored


def refresh_colors_where(conn: Connection, condition) -> None:
    """Recompute the stored colors of the cases matching `condition` (a color rule
    changed for a county)."""
    as_of = colors_as_of(conn)
    if as_of is None:
        return
    ids = sa.select(cases.c.id).where(condition).scalar_subquery()
    conn.execute(case_colors.delete().where(case_colors.c.case_id.in_(ids)))
    _store_colors(conn, as_of, condition)


def colors_as_of(conn: Connection) -> dt.date | None:
    """The date the stored colors are for (None: not built)."""
    value = conn.execute(sa.select(summary_state.c.as_of).where(summary_state.c.name == COLORS)).scalar()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value


def rebuild(conn: Connection, as_of: dt.date | None = None) -> dict:
    """Rebuild both summaries from the cases (`python -m dashboard refresh`)."""
    rebuild_counts(conn)
    colored = rebuild_colors(conn, as_of)
    rows = conn.execute(sa.select(sa.func.count()).select_from(case_summaries)).scalar_one()
    return {"summary_rows": int(rows), "colored_cases": int(colored), "colors_as_of": (as_of or config.today()).isoformat()}


def ensure_current(conn: Connection) -> None:
    """Build what is missing and recompute the colors if they are for another day
    (app start and `init` on an existing database)."""
    if not _built(conn):
        rebuild_counts(conn)
    if colors_as_of(conn) != config.today():
        rebuild_colors(conn)


def refresh_colors_for_region(conn: Connection, region_code: str) -> None:
    """A county's color rule changed (or the city default: every county)."""
    from dashboard.models import regions

    level = conn.execute(sa.select(regions.c.level).where(regions.c.code == region_code)).scalar()
    refresh_colors_where(conn, sa.true() if level == "city" else cases.c.county_code == region_code)
