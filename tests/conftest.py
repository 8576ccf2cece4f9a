"""Shared fixtures: the hand-built fixture city on SQLite and on PostgreSQL.

PostgreSQL tests use a throw-away database on `TEST_POSTGRES_URL` (default: the local
server with trust auth). Without a reachable server they skip, except under `CI=true`
where the production database must be tested.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from streamlit.runtime.pages_manager import PagesManager

from dashboard import db
from tests import fixture_city

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
# Page errors reach AppTest (and the browser suite's server log) instead of the Chinese
# "页面出错" message users see (streamlit_app.py).
os.environ.setdefault("DASHBOARD_SHOW_ERRORS", "1")


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI=true: PostgreSQL tests may not be skipped)")
    pytest.skip(message)


def throwaway_database(kind: str, tmp_path_factory, prefix: str):
    """(url, drop) of a new empty database of `kind` ("sqlite" or "postgresql") for one
    module's fixtures; call `drop_database(drop)` when done (None for SQLite)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(prefix) / 'city.db'}", None
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"dashboard_{prefix}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no server
        _unavailable(f"PostgreSQL not reachable: {error}")
    return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False), (admin, name)


def drop_database(drop) -> None:
    if drop:
        admin, name = drop
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh, empty PostgreSQL database, dropped after the session."""
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as error:  # no server, no driver
        _unavailable(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}")
    name = f"dashboard_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_fixture_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("fixture_city") / "city.db"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    fixture_city.build(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def city_engine(request, sqlite_fixture_url, tmp_path_factory):
    """The fixture city, read-only, on each supported database. pytest may set a
    parametrised session fixture up more than once (it follows the order of the tests,
    which pytest-xdist changes): each PostgreSQL set-up builds the city in a database
    of its own."""
    drop = None
    if request.param == "sqlite":
        engine = db.make_engine(sqlite_fixture_url)
    else:
        url, drop = throwaway_database("postgresql", tmp_path_factory, "city")
        engine = db.make_engine(url)
        fixture_city.build(engine)
    yield engine
    engine.dispose()
    drop_database(drop)


@pytest.fixture
def writable_city(tmp_path):
    """A private SQLite copy of the fixture city for tests that write (draws)."""
    url = f"sqlite:///{tmp_path / 'city.db'}"
    engine = db.make_engine(url)
    fixture_city.build(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture
def city_env(writable_city, monkeypatch):
    """The command line on a private copy of the fixture city, on its "today"."""
    url, _ = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    return url


@pytest.fixture
def app_env(writable_city, monkeypatch):
    # AppTest resets Streamlit's legacy `pages/` flag before every run, so each run
    # would be rerouted once through `ensure_navigation()` (losing button clicks).
    # Start runs the way a browser session does after its first visit.
    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
    url, _ = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    return url
