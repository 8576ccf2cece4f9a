"""Signing in under AppTest: through the real form (`sign_in_form`), or by putting a
fixture user's actor in the session (`as_user`, for tests about something else)."""

from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from dashboard import auth, db
from pages.session import ACTOR_KEY
from tests.fixture_city import PASSWORD


def actor_of(name: str, url: str | None = None):
    engine = db.make_engine(url or os.environ["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return auth.actor_for(conn, auth.get_user(conn, name), "web")
    finally:
        engine.dispose()


def as_user(at: AppTest, name: str) -> AppTest:
    """Start the session signed in as a fixture user (before `at.run()`)."""
    at.session_state[ACTOR_KEY] = actor_of(name)
    return at


def sign_in_form(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Fill in and submit the sign-in form of a page that shows it."""
    at.text_input(key="signin_user").input(name)
    at.text_input(key="signin_password").input(password)
    return at.button(key="signin_submit").click().run()
