"""Database engine creation and schema management.

SQLite is the embedded default (foreign keys on, WAL); PostgreSQL is the production
database. Everything else in the product talks to the engine through SQLAlchemy Core.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.models import Base

BUSY_TIMEOUT_SECONDS = 60


def _sqlite_from_hint(_compiler, _table, text: str) -> str:
    return text


# SQLAlchemy renders `Select.with_hint(table, …)` for MySQL, SQL Server and Oracle only.
# SQLite's own index hints (`INDEXED BY ix`, `NOT INDEXED`) go right after the table name
# in FROM, which is where the compiler puts a table's hint: let it render them, so that a
# query can say `.with_hint(table, "INDEXED BY ix", dialect_name="sqlite")` (other
# databases ignore it). SQLite has no statistics unless ANALYZEd and otherwise picks the
# wrong index for a few of our queries (see queries/leaders.py, queries/accountability.py).
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint

def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    url = url or config.database_url()
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A writer waits up to BUSY_TIMEOUT for another (an import holds the write lock for
        # seconds); parameters are left out of error messages (they may be personal data).
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
                                  hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def is_busy(error: BaseException) -> bool:
    """A write that gave up waiting for another writer (SQLite's lock, PostgreSQL's lock
    timeout): the user should simply try again."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "lock timeout" in text or "could not obtain lock" in text


BUSY_MESSAGE = "系统忙（另一项导入或写入正在进行），请稍后重试。"


def read_frame(conn, stmt) -> pd.DataFrame:
    """The rows of a statement as a DataFrame, columns named by the SELECT (also when
    there are no rows). Built from plain tuples, several times faster than from mappings."""
    result = conn.execute(stmt)
    # plain tuples: pandas probes each Row object's attributes otherwise
    return pd.DataFrame([tuple(row) for row in result.all()], columns=list(result.keys()))


WRITE_CACHE_KIB = -65536  # negative: KiB (64 MB), see bulk_insert


def bulk_insert(conn, table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys in the same order) into `table` within the
    connection's open transaction: COPY on PostgreSQL (psycopg 3), a plain DBAPI
    executemany on SQLite (several times faster than SQLAlchemy's executemany for tens
    of thousands of rows: the sample load, ledger imports). Columns the dicts leave out get their scalar default
    (or NULL), exactly as `conn.execute(table.insert(), rows)` would."""
    if not rows:
        return
    dialect = conn.dialect
    keys = list(rows[0])
    # columns the rows leave out, but for an integer key the database numbers itself
    extra = [c for c in table.columns if c.name not in rows[0]
             and not (c.primary_key and c is table.autoincrement_column)]
    names = keys + [c.name for c in extra]
    tail = tuple(c.default.arg if c.default is not None and c.default.is_scalar else None
                 for c in extra)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        cursor = conn.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write((*row.values(), *tail))
    elif dialect.name == "sqlite":
        # column by column through SQLAlchemy's own converters (dates as text, booleans
        # as 0/1), so the stored values are the ones its executemany would store
        values = [list(col) for col in zip(*(row.values() for row in rows), strict=True)]
        values += [[value] * len(rows) for value in tail]
        for i, name in enumerate(names):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                values[i] = [process(v) for v in values[i]]
        marks = ", ".join("?" * len(names))
        cursor = conn.connection.driver_connection.cursor()
        # New rows land all over the tables' indexes (dates, regions): with SQLite's
        # default 2 MB page cache most index pages are read again for every few rows;
        # 64 MB for the write (given back after) makes a 100,000-row import's insert
        # about 40% faster (README 规模与部署).
        saved = cursor.execute("PRAGMA cache_size").fetchone()[0]
        try:
            cursor.execute(f"PRAGMA cache_size = {WRITE_CACHE_KIB}")
            cursor.executemany(f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})",
                               zip(*values, strict=True))
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(saved)}")
            cursor.close()
    else:
        conn.execute(table.insert(), rows)


def create_schema(engine: Engine) -> None:
    """Create every table from the models. A new database is then marked as being at the
    newest migration (a test checks models and migrations agree); an existing one must
    be upgraded with `dashboard.migrate.upgrade` instead, which adds columns too."""
    from dashboard import migrate

    fresh = not has_schema(engine)
    Base.metadata.create_all(engine)
    if fresh:
        migrate.stamp_head(engine)


def drop_schema(engine: Engine) -> None:
    Base.metadata.drop_all(engine)


def has_schema(engine: Engine) -> bool:
    return sa.inspect(engine).has_table("cases")


def missing_columns(engine: Engine) -> list[str]:
    """Columns the models define but the database's existing tables lack (a database
    the migrations could not bring up to date)."""
    inspector = sa.inspect(engine)
    missing = []
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    return missing


def present_columns(engine: Engine, names) -> list[str]:
    """Which of the given "table.column" names the database has."""
    inspector = sa.inspect(engine)
    present = []
    for name in names:
        table, column = name.split(".", 1)
        if inspector.has_table(table) and column in {c["name"] for c in inspector.get_columns(table)}:
            present.append(name)
    return present


def is_empty(engine: Engine) -> bool:
    """True when there is no schema or no region and no case in it."""
    if not has_schema(engine):
        return True
    from dashboard.models import cases, regions

    with engine.connect() as conn:
        n_regions = conn.execute(sa.select(sa.func.count()).select_from(regions)).scalar_one()
        n_cases = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one()
    return n_regions == 0 and n_cases == 0
