"""The sample's bulk write path (COPY on PostgreSQL, DBAPI executemany on SQLite) stores
exactly the rows SQLAlchemy's own executemany stores, on both databases; PostgreSQL gets
its indexes and foreign keys back; the deadlines written with the cases are recompute's."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard import db, models
from dashboard.deadlines import recompute
from sample_data import generator
from tests.conftest import drop_database, throwaway_database

UNTIL = dt.date(2026, 11, 22)
N_CASES = 1500
TABLES = (models.cases, models.case_units, models.case_events,
          # the accountability loop's records, written the same way
          models.case_plans, models.case_steps, models.receptions, models.reception_cases, models.revisits,
          models.clearances, models.traces, models.referrals, models.accountability_records)


def _rows(engine) -> dict[str, list[tuple]]:
    """Every row of the case tables in a fixed order, as Python values."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            order = [table.c.id] if "id" in table.c else list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return out


def _load(url, *, deadlines=False):
    engine = db.make_engine(url)
    db.create_schema(engine)
    summary = generator.load_sample(engine, cases=N_CASES, until=UNTIL, deadlines=deadlines)
    return engine, summary


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The same sample loaded three ways: SQLAlchemy executemany on SQLite (reference),
    the fast path on SQLite and COPY on PostgreSQL."""
    reference_url, _ = throwaway_database("sqlite", tmp_path_factory, "reference")
    plain = generator._write_rows

    def sqlalchemy_insert(conn, table, rows):
        if rows:
            conn.execute(table.insert(), rows)

    generator._write_rows = sqlalchemy_insert
    try:
        reference, _ = _load(reference_url)
    finally:
        generator._write_rows = plain
    sqlite_url, _ = throwaway_database("sqlite", tmp_path_factory, "fast")
    fast, _ = _load(sqlite_url)
    pg_url, drop = throwaway_database("postgresql", tmp_path_factory, "copy")
    try:
        pg, summary = _load(pg_url)
        yield {"reference": reference, "sqlite": fast, "postgresql": pg, "summary": summary}
        pg.dispose()
    finally:
        drop_database(drop)


def test_fast_paths_store_the_reference_rows(loaded):
    expected = _rows(loaded["reference"])
    assert len(expected["cases"]) == N_CASES
    assert _rows(loaded["sqlite"]) == expected
    assert _rows(loaded["postgresql"]) == expected


def test_raw_sqlite_values_are_stored_as_sqlalchemy_stores_them(loaded):
    """Dates as 'YYYY-MM-DD' text, times with microseconds, booleans 0/1, defaults filled."""
    query = sa.text(
        "SELECT c.registered_on, e.at, c.is_collective, c.extension_days, c.deadline_provisional, "
        "c.preset, typeof(c.registered_on), typeof(e.at), typeof(c.is_collective) "
        "FROM cases c JOIN case_events e ON e.case_id = c.id ORDER BY e.id LIMIT 50"
    )
    with loaded["reference"].connect() as a, loaded["sqlite"].connect() as b:
        first = a.execute(query).all()
        assert first == b.execute(query).all()
    registered, at, collective, extension, provisional, preset, *types = first[0]
    assert types == ["text", "text", "integer"]
    assert len(registered) == 10 and len(at) == 26 and at.endswith(".000000")
    assert (collective, extension, provisional, preset) == (0, 0, 0, None)


def test_aggregates_agree_and_match_the_sample_shape(loaded):
    """Counts known from the generator's rules: one territory unit and one 'dispatched'
    event per case; each case's events are numbered consecutively."""
    query = sa.text(
        "SELECT (SELECT COUNT(*) FROM cases), "
        "(SELECT COUNT(*) FROM case_units WHERE role = 'territory'), "
        "(SELECT COUNT(*) FROM case_events WHERE kind = 'dispatched'), "
        "(SELECT SUM(persons) FROM cases), "
        "(SELECT COUNT(*) FROM cases WHERE is_collective), "
        "(SELECT COUNT(*) FROM cases WHERE closed_on IS NULL), "
        "(SELECT MIN(registered_on) FROM cases), (SELECT MAX(at) FROM case_events), "
        "(SELECT MAX(id) - MIN(id) + 1 - COUNT(*) FROM case_events)"
    )
    results = {}
    for kind in ("reference", "sqlite", "postgresql"):
        with loaded[kind].connect() as conn:
            row = list(conn.execute(query).one())
        row[6], row[7] = str(row[6])[:10], str(row[7])[:19]
        results[kind] = row
    assert results["sqlite"] == results["reference"] == results["postgresql"]
    cases, territory, dispatched, persons, collective, _open, first_day, last_at, gaps = results["sqlite"]
    assert (cases, territory, dispatched, gaps) == (N_CASES, N_CASES, N_CASES, 0)
    assert persons >= cases + 4 * collective  # a collective visit has at least 5 people
    assert first_day >= "2023-11-22" and last_at[:10] <= "2026-11-22"
    assert loaded["summary"]["events"] == sum(
        1 for _ in _rows(loaded["postgresql"])["case_events"]
    )


def test_postgresql_gets_its_indexes_and_foreign_keys_back(loaded):
    engine = loaded["postgresql"]
    inspector = sa.inspect(engine)
    for table in TABLES:
        expected = {index.name for index in table.indexes}
        assert expected <= {index["name"] for index in inspector.get_indexes(table.name)}
        keys = {(tuple(k["constrained_columns"]), k["referred_table"])
                for k in inspector.get_foreign_keys(table.name)}
        assert keys == {(tuple(c.name for c in fk.columns), fk.referred_table.name)
                        for fk in table.foreign_key_constraints}
    assert {index["name"] for index in inspector.get_indexes("cases")} >= {
        "ix_cases_registered_on", "ix_cases_county_registered", "ix_cases_backlog"}
    # a new case after the load gets the next id (sequences moved past the loaded ids)
    with engine.begin() as conn:
        new_id = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('cases', 'id'))")).scalar()
    assert new_id == N_CASES + 1


def test_sqlite_pragmas_are_restored(loaded):
    with loaded["sqlite"].connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_deadlines_written_with_the_cases_are_recomputes(kind, tmp_path_factory):
    url, drop = throwaway_database(kind, tmp_path_factory, "deadlines")
    try:
        engine, summary = _load(url, deadlines=True)
        assert summary["deadlines"] is True
        with engine.begin() as conn:
            presets = conn.execute(sa.text("SELECT preset, COUNT(*) FROM cases GROUP BY preset")).all()
            assert presets == [("national", N_CASES)]
            assert recompute(conn) == 0  # nothing left to change
        engine.dispose()
    finally:
        drop_database(drop)
