"""Browser fixtures: a Streamlit server on a fresh sample database, Debian's Chromium
driven by Playwright, and a guard that fails a test on any request to another host.
Nothing is shown before sign-in, so every tab signs in as one of the sample's demo
users (`sign_in`, `open_page`; the shared tab of a module: `app`, as the user `user`
names, 信访局 unless a test says otherwise).

Without Chromium or Playwright the tests skip locally; under `CI=true` they fail."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
TODAY = "2026-11-20"
SAMPLE_CASES = "6000"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
BLACKHOLE_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
# `init --sample` makes one demo user per role, all with this password (sample_data/demo_users.py).
DEMO_PASSWORD = "yunxi-demo"
BUREAU = "demo-bureau"  # 信访局: the whole city, import and settings (no spot check)
SUPERVISION = "demo-supervision"  # 督查室: the whole city and the spot check


IDLE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
        '[data-test-script-state="notRunning"]')


QUIET = """(ms) => new Promise(resolve => {  // no DOM change for `ms` (at most 5 s in all)
    let timer;
    const done = () => { observer.disconnect(); clearTimeout(cap); resolve(true); };
    const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, ms); });
    observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    timer = setTimeout(done, ms);
    const cap = setTimeout(done, 5000);
})"""


def wait_idle(page, timeout: int = 60_000) -> None:
    """Wait until Streamlit has finished the current script run and drawn its result.

    The app root reports its run state in `data-test-script-state` (it turns to
    `rerunRequested` as soon as a widget changes); the "Running…" status widget goes
    away; and some elements (button labels, charts) are filled in a moment after the run
    ends, so the page must also stop changing for a short while."""
    for _ in range(5):
        page.wait_for_timeout(150)  # let a rerun that was just asked for begin
        page.wait_for_selector(IDLE, state="attached", timeout=timeout)
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=timeout
        )
        page.evaluate(QUIET, 300)
        if page.locator(IDLE).count():
            return


# The sidebar menu: a page link per page the signed-in role may use.
MENU_LINKS = '[data-testid="stSidebar"] [data-testid="stPageLink"] a'


def sign_in_form(page):
    """The sign-in form's 用户名 box (the form is all a session shows before sign-in)."""
    return page.get_by_role("textbox", name="用户名", exact=True)


def sign_out_button(page):
    return page.locator('[data-testid="stSidebar"]').get_by_role("button", name="退出登录", exact=True)


def submit_sign_in(page, user: str, password: str = DEMO_PASSWORD, timeout: int = 60_000) -> None:
    """Fill in the sign-in form the tab shows and press 登录 (no waiting for the outcome)."""
    name = sign_in_form(page)
    name.wait_for(timeout=timeout)
    wait_idle(page, timeout)
    name.fill(user)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def sign_in(page, user: str, password: str = DEMO_PASSWORD, timeout: int = 60_000) -> None:
    """Sign in as a demo user on the form the tab shows, and wait for the app: the form
    gone, the account box (退出登录) in the sidebar, the page's run finished. A new
    Streamlit session (a new tab, `goto`, reload) always starts signed out, and after
    sign-in shows the page its address names."""
    submit_sign_in(page, user, password, timeout)
    sign_in_form(page).wait_for(state="detached", timeout=timeout)
    sign_out_button(page).wait_for(timeout=timeout)
    wait_idle(page, timeout)


def open_page(page, server: str, path: str, title: str, *, user: str) -> None:
    """Open a link (`path`, with its query) in the tab, sign in as `user` and wait for
    the page titled `title`."""
    page.goto(f"{server}/{path}")
    sign_in(page, user)
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    wait_idle(page)


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the browser suite must run)")
    pytest.skip(message)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[test]'")
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
    with sync_playwright() as playwright:
        # Everything but the loopback goes to a proxy that is not there, so no request
        # can leave the machine (the `page` fixture records and reports any attempt).
        # Blocking with `context.route` instead would send every request through Python
        # and switch off the HTTP cache, making each page load seconds slower.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             proxy={"server": BLACKHOLE_PROXY, "bypass": ",".join(LOCAL_HOSTS)})
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The server's database (for tests that look up what to ask the app for)."""
    return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.db'}"


@pytest.fixture(scope="session")
def server(browser, database_url, tmp_path_factory):
    """Base URL of `streamlit run streamlit_app.py` on a fresh sample database."""
    workdir = tmp_path_factory.mktemp("e2e")
    env = dict(os.environ, DATABASE_URL=database_url, DASHBOARD_TODAY=TODAY)
    subprocess.run([sys.executable, "-m", "dashboard", "init", "--sample", "--cases", SAMPLE_CASES, "--json"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    port = _free_port()
    log = open(workdir / "streamlit.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.close()
            pytest.fail("Streamlit did not start:\n" + (workdir / "streamlit.log").read_text(errors="replace"))
        time.sleep(0.3)
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def _is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in LOCAL_HOSTS


def _open_tab(browser, width: int = 1440, height: int = 1000):
    """A new browser context and tab, with the list every request and WebSocket URL of the
    context is appended to (`page.on("request")` for all its tabs)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  accept_downloads=True)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    context.on("page", lambda tab: tab.on("websocket", lambda ws: requested.append(ws.url)))
    return context, context.new_page(), requested


def _assert_local(requested: list[str]) -> None:
    assert requested, "no request was recorded"
    foreign = sorted({url for url in requested if not _is_local(url)})
    assert not foreign, f"the browser tried to reach other hosts: {foreign}"


@pytest.fixture
def page(browser, server):
    """A fresh browser tab (its own Streamlit session). Any request to a host other than
    the local server fails the test; the browser's proxy setting makes such requests
    fail too, so nothing leaves the machine."""
    context, tab, requested = _open_tab(browser)
    yield tab
    context.close()
    _assert_local(requested)


@pytest.fixture
def new_tab(browser, server):
    """Opens fresh tabs (each its own context and Streamlit session) of a given viewport
    size: `new_tab()`, `new_tab(390, 844)`. Checked like `page`'s when the test ends."""
    opened = []

    def open_tab(width: int = 1440, height: int = 1000):
        context, tab, requested = _open_tab(browser, width, height)
        opened.append((context, requested))
        return tab

    yield open_tab
    for context, requested in opened:
        context.close()
        _assert_local(requested)


@pytest.fixture(scope="module")
def _shared_tabs(browser, server):
    """A module's shared tabs, one per demo user, opened when first asked for."""
    tabs: dict[str, tuple] = {}

    def tab_of(user: str):
        if user not in tabs:
            tabs[user] = _open_tab(browser)
        _, tab, requested = tabs[user]
        return tab, requested

    yield tab_of
    for context, _, _ in tabs.values():
        context.close()


@pytest.fixture
def user() -> str:
    """Whom the shared tab (`app`) is signed in as; a test parametrized with `user`
    (e.g. for a page only another role may use) gets another shared tab."""
    return BUREAU


@pytest.fixture
def app(_shared_tabs, user):
    """One tab kept open across the read-only tests of a module, which move around the
    app with the sidebar as a person does (and save reloading the app, and signing in
    again, for each). The tab starts blank: the first test opens a deep link and signs
    in as `user` there (`open_page`). The requests made during each test are checked
    like `page`'s."""
    tab, requested = _shared_tabs(user)
    start = len(requested)
    yield tab
    _assert_local(requested[start:] or requested)


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder():
    """tests/e2e/screenshots/ (git-ignored), emptied so it only holds this run's pictures
    (once per run: with pytest-xdist every worker starts a session of its own)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    marker = SCREENSHOTS / ".run"
    if not marker.exists() or marker.read_text() != run:
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()
        marker.write_text(run)
    return SCREENSHOTS
