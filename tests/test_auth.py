"""Issue 11, signing in: argon2id hashes, lockout after 5 failures, idle expiry, nothing
shown before sign-in, the forced first password change, user management on the command
line and the first administrator made by `init`.

Every expected value is written out by hand; the code under test is called only once
per fact checked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from dashboard import auth, db
from dashboard.models import audit_log, users
from entrypoints.cli import main
from pages.session import ACTOR_KEY, LAST_SEEN_KEY
from tests.fixture_city import PASSWORD
from tests.signin import as_user, sign_in_form

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
TIMEOUT = 60
T0 = dt.datetime(2026, 6, 30, 9, 0, 0)  # a fixed "now" for the lockout clock
LOCK_TEXT = "连续 5 次输错密码，账号已锁定 15 分钟"
LOCKED_TEXT = "账号已锁定"


# ------------------------------------------------------------------ helpers


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _records(engine, **where) -> list[dict]:
    """Audit records in order (raw table, not the code under test)."""
    stmt = sa.select(audit_log).order_by(audit_log.c.id)
    for column, value in where.items():
        stmt = stmt.where(audit_log.c[column] == value)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _user_row(engine, name: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(users).where(users.c.name == name)).mappings().one())


def _texts(at: AppTest) -> str:
    """All text of the page's main area and sidebar (titles, markdown, captions, notices)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
                 "success", "code"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return "\n".join(parts)


def _shows_sign_in_only(at: AppTest) -> None:
    """The page is the sign-in form and shows no case data at all."""
    assert not at.exception, [e.value for e in at.exception]
    keys = {t.key for t in at.text_input}
    assert {"signin_user", "signin_password"} <= keys
    assert len(at.metric) == 0
    assert len(at.dataframe) == 0
    assert len(at.table) == 0
    assert at.title[0].value == "信访督查看板"
    assert "filter_county" not in {s.key for s in at.sidebar.selectbox}
    text = _texts(at)
    for case_no in ("C01", "B02", "测试人"):
        assert case_no not in text


def _error_text(at: AppTest) -> str:
    assert len(at.error) == 1, [e.value for e in at.error]
    return at.error[0].value


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


@pytest.fixture
def engine(writable_city):
    return writable_city[1]


@pytest.fixture
def cli(city_env, writable_city, monkeypatch):
    """The command line on the fixture city, with no user named in the environment."""
    monkeypatch.delenv("DASHBOARD_USER", raising=False)
    return writable_city[1]


# ------------------------------------------------------------------ lockout


def test_five_wrong_passwords_lock_for_15_minutes(engine):
    for attempt in range(1, 5):
        with pytest.raises(auth.AuthError) as wrong:
            auth.sign_in(engine, "county_a", "not-the-password", now=T0 + dt.timedelta(seconds=attempt))
        assert LOCKED_TEXT not in str(wrong.value)
    last_failure = T0 + dt.timedelta(seconds=5)
    with pytest.raises(auth.AuthError) as fifth:
        auth.sign_in(engine, "county_a", "not-the-password", now=last_failure)
    assert LOCK_TEXT in str(fifth.value)
    assert _user_row(engine, "county_a")["locked_until"] == last_failure + dt.timedelta(minutes=15)

    # The right password is refused while locked, up to the last second of the 15 minutes.
    for later in (dt.timedelta(seconds=1), dt.timedelta(minutes=10), dt.timedelta(minutes=14, seconds=59)):
        with pytest.raises(auth.AuthError) as locked:
            auth.sign_in(engine, "county_a", PASSWORD, now=last_failure + later)
        assert LOCKED_TEXT in str(locked.value)

    actor = auth.sign_in(engine, "county_a", PASSWORD, now=last_failure + dt.timedelta(minutes=15, seconds=1))
    assert (actor.name, actor.role, actor.scope.region_code) == ("county_a", "county", "880102")
    row = _user_row(engine, "county_a")
    assert row["failed_attempts"] == 0 and row["locked_until"] is None

    # 5 failures + 3 refusals while locked, each audited as denied; then one sign-in.
    failed = _records(engine, action="signin_failed")
    assert len(failed) == 8
    assert {(r["user_name"], r["outcome"]) for r in failed} == {("county_a", "denied")}
    signed = _records(engine, action="signin")
    assert [(r["user_name"], r["role"], r["scope_code"], r["outcome"]) for r in signed] == [
        ("county_a", "county", "880102", "ok")]


def test_failures_count_in_a_row_only(engine):
    """A successful sign-in starts the count again: 4 + 1 good + 4 does not lock."""
    for second in range(4):
        with pytest.raises(auth.AuthError):
            auth.sign_in(engine, "county_b", "wrong-pass-1", now=T0 + dt.timedelta(seconds=second))
    auth.sign_in(engine, "county_b", PASSWORD, now=T0 + dt.timedelta(seconds=10))
    for second in range(4):
        with pytest.raises(auth.AuthError):
            auth.sign_in(engine, "county_b", "wrong-pass-1", now=T0 + dt.timedelta(seconds=20 + second))
    assert _user_row(engine, "county_b")["locked_until"] is None
    auth.sign_in(engine, "county_b", PASSWORD, now=T0 + dt.timedelta(seconds=30))


def test_the_fifth_failure_on_the_form_shows_the_lock(app_env):
    at = _app()
    at.run()
    for attempt in range(1, 5):
        sign_in_form(at, "town_a1", "wrong-password")
        assert LOCKED_TEXT not in _error_text(at), attempt
    sign_in_form(at, "town_a1", "wrong-password")
    assert LOCK_TEXT in _error_text(at)
    _shows_sign_in_only(at)
    sign_in_form(at, "town_a1", PASSWORD)  # the right password, but locked
    assert LOCKED_TEXT in _error_text(at)
    _shows_sign_in_only(at)
    assert ACTOR_KEY not in at.session_state


def test_wrong_name_and_wrong_password_give_the_same_message(engine, app_env):
    with pytest.raises(auth.AuthError) as unknown:
        auth.sign_in(engine, "no_such_user", PASSWORD)
    with pytest.raises(auth.AuthError) as wrong:
        auth.sign_in(engine, "county_a", "wrong-password")
    assert str(unknown.value) == str(wrong.value)

    at = _app()
    at.run()
    shown_unknown = _error_text(sign_in_form(at, "no_such_user", PASSWORD))
    shown_wrong = _error_text(sign_in_form(at, "county_b", "wrong-password"))
    assert shown_unknown == shown_wrong
    assert ACTOR_KEY not in at.session_state


def test_disabled_account_cannot_sign_in(engine):
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.name == "city_user").values(disabled=True))
    with pytest.raises(auth.AuthError, match="停用"):
        auth.sign_in(engine, "city_user", PASSWORD)
    assert _records(engine, action="signin") == []


# ------------------------------------------------------------------ the form and the session


def test_sign_in_through_the_form_opens_the_overview(app_env, engine):
    at = _app()
    at.run()
    _shows_sign_in_only(at)
    sign_in_form(at, "county_a")
    assert not at.exception
    assert at.title[0].value == "总览"
    assert len(at.metric) > 0
    assert at.session_state[ACTOR_KEY].name == "county_a"
    assert [(r["user_name"], r["role"], r["scope_code"], r["channel"]) for r in _records(engine, action="signin")] \
        == [("county_a", "county", "880102", "web")]


def test_no_sso_button_without_secrets(app_env):
    at = _app()
    at.run()
    assert "signin_sso" not in {b.key for b in at.button}
    assert "统一身份认证" not in _texts(at)
    # With an [auth] section in the secrets the button is there (the check above can fail).
    configured = _app()
    configured.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                                  "client_id": "dashboard", "client_secret": "secret",
                                  "server_metadata_url": "https://sso.example/.well-known/openid-configuration"}
    configured.run()
    assert not configured.exception
    assert "signin_sso" in {b.key for b in configured.button}


@pytest.mark.parametrize(("page", "query"), [
    (None, {}),
    ("pages/heatmap.py", {}),
    ("pages/case.py", {"case": "C01"}),
    ("pages/supervision.py", {}),
    ("pages/drill.py", {"region": "880102"}),
    ("pages/users.py", {}),
    ("pages/audit_log.py", {}),
])
def test_nothing_is_shown_before_sign_in(app_env, engine, page, query):
    at = _app()
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    _shows_sign_in_only(at)
    if page:
        at.switch_page(page).run()
        _shows_sign_in_only(at)
    # Nothing was read on anyone's behalf.
    assert [r for r in _records(engine) if r["action"] != "signin_failed"] == []


@pytest.mark.parametrize(("idle_minutes", "seen_minutes_ago", "expired"), [
    (None, 29, False),
    (None, 31, True),  # default 30 minutes
    ("5", 4, False),
    ("5", 6, True),
])
def test_idle_session_expires(app_env, engine, monkeypatch, idle_minutes, seen_minutes_ago, expired):
    if idle_minutes is None:
        monkeypatch.delenv("SESSION_IDLE_MINUTES", raising=False)
    else:
        monkeypatch.setenv("SESSION_IDLE_MINUTES", idle_minutes)
    at = as_user(_app(), "county_a")
    seen = dt.datetime.now().replace(microsecond=0) - dt.timedelta(minutes=seen_minutes_ago)
    at.session_state[LAST_SEEN_KEY] = seen
    at.run()
    assert not at.exception
    if not expired:
        assert at.title[0].value == "总览" and len(at.metric) > 0
        assert at.session_state[LAST_SEEN_KEY] > seen  # activity moves the clock on
        assert _records(engine, action="session_expired") == []
        return
    _shows_sign_in_only(at)
    minutes = idle_minutes or "30"
    assert any(f"超过 {minutes} 分钟未操作" in info.value for info in at.info)
    assert ACTOR_KEY not in at.session_state
    expiry = _records(engine, action="session_expired")
    assert [(r["user_name"], r["role"], r["scope_code"], r["outcome"]) for r in expiry] == [
        ("county_a", "county", "880102", "ok")]
    # The form works again afterwards, with a fresh clock.
    sign_in_form(at, "county_a")
    assert at.title[0].value == "总览" and len(at.metric) > 0


def test_expired_session_on_a_deep_link_shows_no_data(app_env, engine):
    at = as_user(_app(), "bureau")
    at.run()
    assert at.title[0].value == "总览"
    at.session_state[LAST_SEEN_KEY] = dt.datetime.now().replace(microsecond=0) - dt.timedelta(hours=2)
    at.switch_page("pages/heatmap.py").run()
    _shows_sign_in_only(at)
    assert len(_records(engine, action="session_expired")) == 1


# ------------------------------------------------------------------ first sign-in password change


def test_first_sign_in_must_change_the_password(app_env, engine):
    with engine.begin() as conn:
        auth.create_user(conn, "newcomer", "county", "880121", "Temp-pass-2026", must_change=True)
    at = _app()
    at.run()
    sign_in_form(at, "newcomer", "Temp-pass-2026")
    assert not at.exception
    assert at.title[0].value == "修改密码"
    assert {"password_current", "password_new", "password_repeat"} <= {t.key for t in at.text_input}
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.table) == 0

    at.text_input(key="password_current").input("Temp-pass-2026")
    at.text_input(key="password_new").input("My-own-pass-77")
    at.text_input(key="password_repeat").input("My-own-pass-77")
    at.button(key="password_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "总览" and len(at.metric) > 0

    assert not _user_row(engine, "newcomer")["must_change_password"]
    with pytest.raises(auth.AuthError):
        auth.sign_in(engine, "newcomer", "Temp-pass-2026")
    assert auth.sign_in(engine, "newcomer", "My-own-pass-77").name == "newcomer"
    changes = _records(engine, action="password_change")
    assert [(r["user_name"], r["target"], r["outcome"]) for r in changes] == [("newcomer", "newcomer", "ok")]


def test_password_change_refuses_a_mismatch(app_env, engine):
    with engine.begin() as conn:
        auth.create_user(conn, "newcomer", "city", None, "Temp-pass-2026", must_change=True)
    at = _app()
    at.run()
    sign_in_form(at, "newcomer", "Temp-pass-2026")
    at.text_input(key="password_current").input("Temp-pass-2026")
    at.text_input(key="password_new").input("My-own-pass-77")
    at.text_input(key="password_repeat").input("My-own-pass-78")
    at.button(key="password_submit").click().run()
    assert "不一致" in _error_text(at)
    assert at.title[0].value == "修改密码" and len(at.metric) == 0
    # A deep link does not get round the change either.
    at.switch_page("pages/heatmap.py").run()
    assert at.title[0].value == "修改密码"
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.table) == 0
    assert auth.sign_in(engine, "newcomer", "Temp-pass-2026").name == "newcomer"  # unchanged


# ------------------------------------------------------------------ hashes


def test_passwords_are_stored_as_argon2id_hashes(engine):
    with engine.begin() as conn:
        auth.create_user(conn, "hashed", "county", "880102", "Clear-text-99", must_change=False)
        stored = dict(conn.execute(sa.select(users.c.name, users.c.password_hash)).all())
    assert len(stored) == 9
    for name, password_hash in stored.items():
        assert password_hash.startswith("$argon2id$"), name
        assert PASSWORD not in password_hash and "Clear-text-99" not in password_hash
    assert PasswordHasher().verify(stored["hashed"], "Clear-text-99")
    # Salted: the same password hashes differently for another user.
    with engine.begin() as conn:
        auth.create_user(conn, "hashed2", "county", "880102", "Clear-text-99", must_change=False)
    assert _user_row(engine, "hashed2")["password_hash"] != stored["hashed"]


# ------------------------------------------------------------------ user management on the command line


def test_password_checks_run_a_few_at_a_time(monkeypatch):
    """Each argon2 check takes 64 MiB: thirty sign-ins at once must not run thirty checks
    at once (a meeting's sign-ins would take 2 GB of one app process)."""
    import threading
    import time

    running, most = 0, 0
    lock = threading.Lock()

    class CountingHasher:
        def verify(self, password_hash, password):
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return True

        def hash(self, password):
            return self.verify("", password)

    monkeypatch.setattr(auth, "_hasher", CountingHasher())
    threads = [threading.Thread(target=auth._verify, args=("h", "p")) for _ in range(8)]
    threads += [threading.Thread(target=auth.hash_password, args=("p",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert auth.PASSWORD_CHECKS_AT_ONCE == 2 and most == 2


def test_admin_adds_a_user_who_can_then_sign_in(cli, capsys, monkeypatch, writable_city):
    _stdin(monkeypatch, "County-pass-01\n")
    code, out, err = _run(capsys, ["user", "add", "lijiang", "--role", "county", "--region", "880102",
                                   "--password-stdin", "--user", "admin"])
    assert code == 0, err
    assert "County-pass-01" not in out
    actor = auth.sign_in(cli, "lijiang", "County-pass-01")
    assert (actor.name, actor.role, actor.scope.region_code) == ("lijiang", "county", "880102")
    row = _user_row(cli, "lijiang")
    assert row["password_hash"].startswith("$argon2id$")
    # The clear text is nowhere in the database: not in the users table, not in the audit trail.
    with cli.connect() as conn:
        details = " ".join(str(v) for r in conn.execute(sa.select(audit_log)).all() for v in r)
    assert "County-pass-01" not in details
    cli.dispose()
    assert b"County-pass-01" not in Path(sa.engine.make_url(writable_city[0]).database).read_bytes()


def test_user_add_without_a_user_is_refused(cli, capsys, monkeypatch):
    _stdin(monkeypatch, "County-pass-01\n")
    code, out, err = _run(capsys, ["user", "add", "lijiang", "--role", "county", "--region", "880102",
                                   "--password-stdin"])
    assert code == 3
    assert out == "" and "--user" in err
    assert _user_count(cli, "lijiang") == 0


def test_user_add_by_a_non_admin_is_refused(cli, capsys, monkeypatch):
    _stdin(monkeypatch, "County-pass-01\n")
    code, out, err = _run(capsys, ["user", "add", "lijiang", "--role", "county", "--region", "880102",
                                   "--password-stdin", "--user", "bureau"])
    assert code == 3 and out == "" and "拒绝" in err
    assert _user_count(cli, "lijiang") == 0
    denied = _records(cli, action="user_add")
    assert [(r["user_name"], r["role"], r["outcome"]) for r in denied] == [("bureau", "bureau", "denied")]


def test_dashboard_user_environment_names_the_user(cli, capsys, monkeypatch):
    monkeypatch.setenv("DASHBOARD_USER", "admin")
    _stdin(monkeypatch, "County-pass-01\n")
    code, _, err = _run(capsys, ["user", "add", "lijiang", "--role", "county", "--region", "880102",
                                 "--password-stdin"])
    assert code == 0, err
    assert _user_count(cli, "lijiang") == 1


def _user_count(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(users).where(users.c.name == name)).scalar_one()


@pytest.mark.parametrize(("region", "fragment"), [
    (None, "县领导角色必须指定所辖县区（6 位）区划代码"),
    ("880102001", "县领导角色的区划应为县区级，880102001（东门街道）不是"),
    ("123456", "区划代码 123456 不存在"),
])
def test_a_county_user_needs_a_county_code(cli, capsys, monkeypatch, region, fragment):
    _stdin(monkeypatch, "County-pass-01\n")
    argv = ["user", "add", "lijiang", "--role", "county", "--password-stdin", "--user", "admin"]
    code, out, err = _run(capsys, argv + (["--region", region] if region else []))
    assert code == 2
    assert fragment in err and "Traceback" not in err
    assert out == ""
    assert _user_count(cli, "lijiang") == 0
    assert [r for r in _records(cli, action="user_add") if r["outcome"] == "ok"] == []


def test_a_township_user_needs_a_township_code(cli, capsys, monkeypatch):
    _stdin(monkeypatch, "Town-pass-001\n")
    code, _, err = _run(capsys, ["user", "add", "xiaozhang", "--role", "township", "--region", "880102",
                                 "--password-stdin", "--user", "admin"])
    assert code == 2 and "乡镇" in err
    _stdin(monkeypatch, "Town-pass-001\n")
    code, _, err = _run(capsys, ["user", "add", "xiaozhang", "--role", "township", "--region", "880102001",
                                 "--password-stdin", "--user", "admin"])
    assert code == 0, err
    assert auth.sign_in(cli, "xiaozhang", "Town-pass-001").scope.region_code == "880102001"


def test_user_add_refuses_a_short_password(cli, capsys, monkeypatch):
    _stdin(monkeypatch, "short\n")
    code, _, err = _run(capsys, ["user", "add", "lijiang", "--role", "city", "--password-stdin", "--user", "admin"])
    assert code == 2 and "至少 8 位" in err
    assert _user_count(cli, "lijiang") == 0


def test_user_list_json(cli, capsys):
    code, out, err = _run(capsys, ["user", "list", "--json", "--user", "admin"])
    assert code == 0, err
    listed = {u["name"]: u for u in json.loads(out)}
    assert set(listed) == {"city_user", "county_a", "county_b", "town_a1", "town_b1", "supervisor", "bureau",
                           "admin"}
    assert {k: listed["county_a"][k] for k in ("role", "region", "region_name", "disabled",
                                               "must_change_password", "locked_until")} == {
        "role": "county", "region": "880102", "region_name": "甲区", "disabled": False,
        "must_change_password": False, "locked_until": None}
    assert (listed["town_b1"]["region"], listed["town_b1"]["region_name"]) == ("880121001", "南山镇")
    assert (listed["admin"]["role"], listed["admin"]["region"]) == ("admin", None)
    assert "password_hash" not in out and "$argon2" not in out
    # A non-admin may not list users.
    code, out, _ = _run(capsys, ["user", "list", "--json", "--user", "city_user"])
    assert code == 3 and set(json.loads(out)) == {"error", "exit_code"}


def test_disabled_user_cannot_sign_in_until_enabled(cli, capsys):
    code, _, err = _run(capsys, ["user", "disable", "county_b", "--user", "admin"])
    assert code == 0, err
    with pytest.raises(auth.AuthError, match="停用"):
        auth.sign_in(cli, "county_b", PASSWORD)
    # Nor can the disabled user act on the command line.
    code, out, _ = _run(capsys, ["kpi", "--json", "--user", "county_b"])
    assert code == 3 and "total" not in out
    code, _, err = _run(capsys, ["user", "enable", "county_b", "--user", "admin"])
    assert code == 0, err
    assert auth.sign_in(cli, "county_b", PASSWORD).name == "county_b"


def test_admin_cannot_disable_themself(cli, capsys):
    code, _, err = _run(capsys, ["user", "disable", "admin", "--user", "admin"])
    assert code == 2 and "不能停用自己" in err
    assert not _user_row(cli, "admin")["disabled"]


def test_disabled_user_signed_in_on_the_web_is_signed_out(app_env, engine):
    at = as_user(_app(), "county_a")
    at.run()
    assert at.title[0].value == "总览"
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.name == "county_a").values(disabled=True))
    at.run()
    _shows_sign_in_only(at)


def test_reset_password_forces_a_change_at_next_sign_in(cli, capsys, monkeypatch):
    _stdin(monkeypatch, "Reset-pass-2026\n")
    code, out, err = _run(capsys, ["user", "reset-password", "town_b1", "--password-stdin", "--user", "admin"])
    assert code == 0, err
    assert "Reset-pass-2026" not in out
    with pytest.raises(auth.AuthError):
        auth.sign_in(cli, "town_b1", PASSWORD)
    assert auth.sign_in(cli, "town_b1", "Reset-pass-2026").name == "town_b1"
    code, out, _ = _run(capsys, ["user", "list", "--json", "--user", "admin"])
    assert {u["name"]: u["must_change_password"] for u in json.loads(out)}["town_b1"] is True


def test_reset_password_generated_is_shown_once_and_works(cli, capsys, monkeypatch):
    _stdin(monkeypatch, "")  # not a terminal: a password is generated
    code, out, err = _run(capsys, ["user", "reset-password", "town_a1", "--user", "admin"])
    assert code == 0, err
    found = re.search(r"密码：([A-Za-z0-9]{14})（只显示这一次）", out)
    assert found, out
    assert auth.sign_in(cli, "town_a1", found.group(1)).name == "town_a1"
    assert _user_row(cli, "town_a1")["must_change_password"]


def test_reset_then_the_web_shows_only_the_change_form(app_env, engine):
    with engine.begin() as conn:
        auth.set_password(conn, "supervisor", "Reset-pass-2026", must_change=True)
    at = _app()
    at.run()
    sign_in_form(at, "supervisor", "Reset-pass-2026")
    assert at.title[0].value == "修改密码"
    assert len(at.metric) == 0 and len(at.dataframe) == 0


# ------------------------------------------------------------------ the first administrator


def test_init_creates_admin_with_a_one_time_password(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("DASHBOARD_USER", raising=False)
    code, out, err = _run(capsys, ["init", "--json"])
    assert code == 0, err
    summary = json.loads(out)
    password = summary["admin_password"]
    assert summary["admin_user"] == "admin"
    assert len(password) == 14 and re.fullmatch(r"[A-HJ-NP-Za-km-z2-9]{14}", password)

    engine = db.make_engine(url)
    try:
        row = _user_row(engine, "admin")
        assert row["role"] == "admin" and row["region_code"] is None
        assert row["must_change_password"]
        assert row["password_hash"].startswith("$argon2id$") and password not in row["password_hash"]
        actor = auth.sign_in(engine, "admin", password)
        assert (actor.role, actor.scope) == ("admin", None)
        init_records = _records(engine, action="init")
        assert len(init_records) == 1 and password not in str(init_records[0])
    finally:
        engine.dispose()

    code, out, err = _run(capsys, ["user", "list", "--json", "--user", "admin"])
    assert code == 0, err
    (admin,) = json.loads(out)
    assert (admin["name"], admin["must_change_password"]) == ("admin", True)
    assert password not in out

    # Shown once: a second init (the schema is still empty of data) makes no new password.
    code, out, err = _run(capsys, ["init", "--json"])
    assert code == 0, err
    assert "admin_password" not in json.loads(out) and password not in out


def test_init_prints_the_password_once_in_text(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    code, out, err = _run(capsys, ["init"])
    assert code == 0, err
    found = re.findall(r"一次性密码：([A-Za-z0-9]{14})", out)
    assert len(found) == 1
    assert out.count(found[0]) == 1 and found[0] not in err
    assert "首次登录须修改" in out
