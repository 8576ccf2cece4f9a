"""Browser fixtures: a Streamlit server on a fresh sample database, Debian's Chromium
driven by Playwright, and a guard that fails a test on any request to another host.

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
def server(browser, tmp_path_factory):
    """Base URL of `streamlit run streamlit_app.py` on a fresh sample database."""
    workdir = tmp_path_factory.mktemp("e2e")
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'e2e.db'}", DASHBOARD_TODAY=TODAY)
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


def _open_tab(browser):
    """A new browser context and tab, with the list every request and WebSocket URL of the
    context is appended to (`page.on("request")` for all its tabs)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN",
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


@pytest.fixture(scope="module")
def _shared_tab(browser, server):
    context, tab, requested = _open_tab(browser)
    yield tab, requested
    context.close()


@pytest.fixture
def app(_shared_tab):
    """One tab kept open across the read-only tests of a module, which move around the
    app with the sidebar as a person does (and save reloading the app for each). The
    requests made during each test are checked like `page`'s."""
    tab, requested = _shared_tab
    start = len(requested)
    yield tab
    _assert_local(requested[start:] or requested)


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder():
    """tests/e2e/screenshots/ (git-ignored), emptied so it only holds this run's pictures."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS
