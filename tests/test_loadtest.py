"""`python -m dashboard loadtest`: sessions over Streamlit's websocket protocol against a
real server on a small sample city; a failing view makes the command fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import db
from entrypoints import loadtest
from entrypoints.setup import initialise

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "heatmap", "supervision", "case"]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('loadtest') / 'city.db'}"
    engine = db.make_engine(url)
    initialise(engine, sample=True, cases=2000)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(database):
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database
    try:
        process, url = loadtest.start_server()
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
    yield process, url
    loadtest.stop_server(process)


def _cli(*args, database):
    env = {**os.environ, "DATABASE_URL": database}
    return subprocess.run([sys.executable, "-m", "dashboard", "loadtest", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_two_sessions_open_every_page_without_errors(server, database):
    process, url = server
    done = _cli("--sessions", "2", "--url", url, "--server-pid", str(process.pid), "--warmup", "0",
                "--json", database=database)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True and result["errors"] == []
    assert result["protocol"] == "streamlit-websocket"
    assert result["views"] == 2 * (1 + len(PAGES))  # a sign-in and four pages per session
    assert [p["page"] for p in result["pages"]] == ["signin", *PAGES]
    for page in result["pages"]:
        assert (page["views"], page["ok"]) == (2, 2)
        assert 0 < page["p50_s"] <= page["p95_s"] <= page["max_s"]
    assert result["server_cpu_s"] > 0  # read from the server's /proc/<pid>/stat
    # a Streamlit server with pandas and the sample loaded: more than the bare interpreter
    assert 60 < result["server_peak_rss_mb"] < 2048
    assert result["server_cpu_per_view_s"] == pytest.approx(result["server_cpu_s"] / 10, abs=0.001)


def test_a_failed_sign_in_is_an_error_and_the_command_fails(server, database):
    process, url = server
    result = loadtest.run(1, url, ["overview"], server_pid=process.pid, warmup=0, password="not-the-password",
                          timeout=60, total_timeout=120)
    assert result["ok"] is False
    assert result["errors"][0]["page"] == "signin"
    assert "用户名或密码不正确" in result["errors"][0]["error"]
    assert result["pages"][1] == {"page": "overview", "views": 0, "ok": 0, "p50_s": 0.0, "p95_s": 0.0,
                                  "max_s": 0.0}


def test_an_error_on_a_page_fails_the_view(server, database, monkeypatch):
    """A case number that does not exist: the case page shows an error message."""
    process, url = server
    result = loadtest.run(1, url, ["case"], server_pid=process.pid, warmup=0, cases=["YX1999-99-999999"],
                          timeout=60, total_timeout=120)
    case = next(p for p in result["pages"] if p["page"] == "case")
    assert (case["views"], case["ok"]) == (1, 0)
    assert result["ok"] is False and result["errors"][0]["page"] == "case"


def test_an_unreachable_server_fails_within_the_time_limit():
    result = loadtest.run(1, "http://127.0.0.1:9", ["overview"], warmup=0, timeout=5, total_timeout=30)
    assert result["ok"] is False
    assert result["errors"][0]["page"] == "connect"


def test_unknown_pages_are_refused_with_a_clear_message(database):
    done = _cli("--pages", "overview,nosuch", database=database)
    assert done.returncode == 2
    assert "nosuch" in done.stderr and "overview,heatmap,supervision,case" in done.stderr


def test_several_processes_share_the_sessions_as_a_sticky_proxy_would(database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database)
    result = loadtest.run(4, None, ["overview"], processes=2, warmup=0, timeout=120, total_timeout=300)
    assert result["ok"] is True, result["errors"]
    assert result["processes"] == 2
    assert len(set(result["url"].split(", "))) == 2  # two servers, each on its own port
    assert result["views"] == 4 * 2  # sign-in and overview per session
    assert result["server_cpu_s"] > 0  # summed over both servers
