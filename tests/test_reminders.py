"""“115” reminders and overdue escalation on the fixture city (stored deadlines:
C04 due 10 Jun, C05 due 20 Jul, C06 due 3 Jul; backlog cases are not reminded)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard.cli import main
from dashboard.models import reminders
from dashboard.reminders import record
from queries.filters import Filters, scope_for
from queries.reminders import reminder_log, reminder_queue

D = dt.date


def _queue(engine, on, region=None):
    with engine.connect() as conn:
        return reminder_queue(conn, scope_for(conn, region), Filters(), on)


def _record(engine, on):
    with engine.begin() as conn:
        return record(conn, reminder_queue(conn, scope_for(conn), Filters(), on), on)


@pytest.mark.parametrize("on,expected", [
    # 15 days before C05 (due 20 Jul): officer; C06 (due 3 Jul) and C04 long overdue
    (D(2026, 7, 5), [("C04", "overdue", -25), ("C06", "overdue", -2), ("C05", "officer", 15)]),
    (D(2026, 7, 10), [("C04", "overdue", -30), ("C06", "overdue", -7), ("C05", "deputy", 10)]),
    (D(2026, 7, 15), [("C04", "overdue", -35), ("C06", "overdue", -12), ("C05", "head", 5)]),
    (D(2026, 7, 4), [("C04", "overdue", -24), ("C06", "overdue", -1)]),  # C05: 16 days left
    (D(2026, 6, 18), [("C04", "overdue", -8), ("C06", "officer", 15)]),
])
def test_levels_by_days_left(writable_city, on, expected):
    _, engine = writable_city
    queue = _queue(engine, on)
    assert list(zip(queue["case_no"], queue["level"], queue["days_left"], strict=True)) == expected


def test_recording_twice_a_day_adds_nothing(writable_city):
    _, engine = writable_city
    assert _record(engine, D(2026, 6, 30)) == 2  # C04 overdue, C06 head (3 days left)
    assert _record(engine, D(2026, 6, 30)) == 0
    queue = _queue(engine, D(2026, 6, 30))
    assert queue["case_no"].tolist() == ["C04", "C06"] and queue["recorded"].all()
    # Next day: the overdue escalation again, the head letter is not repeated.
    assert _queue(engine, D(2026, 7, 1))[["case_no", "level"]].values.tolist() == [["C04", "overdue"]]
    assert _record(engine, D(2026, 7, 1)) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reminders)).scalar() == 3
        log = reminder_log(conn, scope_for(conn), Filters())
    assert log[["case_no", "reminded_on", "level"]].values.tolist() == [
        ["C04", D(2026, 7, 1), "overdue"], ["C06", D(2026, 6, 30), "head"], ["C04", D(2026, 6, 30), "overdue"],
    ]


def test_missed_days_catch_up_with_the_level_now_due(writable_city):
    _, engine = writable_city
    assert _record(engine, D(2026, 6, 20)) == 2  # C06 officer (13 days), C04 overdue
    # Nobody ran the reminders from 21 to 29 June: on 30 June C06 gets the head letter.
    queue = _queue(engine, D(2026, 6, 30))
    assert queue.set_index("case_no")["level"].to_dict() == {"C04": "overdue", "C06": "head"}


def test_queue_follows_the_scope(writable_city):
    _, engine = writable_city
    assert _queue(engine, D(2026, 6, 30), "880102")["case_no"].tolist() == ["C04"]
    assert _queue(engine, D(2026, 6, 30), "880121002").empty


def test_remind_command(writable_city, capsys, monkeypatch):
    url, _ = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    assert main(["remind", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [{k: r[k] for k in ("case_no", "unit", "level", "due", "days_left")} for r in first] == [
        {"case_no": "C04", "unit": "西门街道办事处", "level": "overdue", "due": "2026-06-10", "days_left": -20},
        {"case_no": "C06", "unit": "南山镇人民政府", "level": "head", "due": "2026-07-03", "days_left": 3},
    ]
    assert main(["remind", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert main(["remind", "--date", "2026-07-01"]) == 0
    assert "新登记 1 件" in capsys.readouterr().out
    assert main(["case", "C04", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["reminders"]
    assert [(r["date"], r["level"]) for r in history] == [("2026-07-01", "overdue"), ("2026-06-30", "overdue")]
