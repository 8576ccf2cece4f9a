"""“115” reminders and overdue escalation on the fixture city.

Stored deadlines (fixture, set by hand) and the reminder days worked out by hand on the
2026 calendar (Dragon Boat Festival: Fri 19 – Sun 21 June off):
- C05 handling due Mon 20 Jul: officer 5 Jul is a Sunday -> Fri 3 Jul; deputy Fri 10 Jul;
  head Wed 15 Jul.
- C06 handling due Fri 3 Jul: officer Thu 18 Jun; deputy Tue 23 Jun; head 28 Jun is a
  Sunday -> Fri 26 Jun; overdue from Mon 6 Jul (4–5 Jul is a weekend).
- B05 (backlog, still in handling) handling due Wed 1 Jul: officer Tue 16 Jun; deputy
  21 Jun is a Sunday after the holiday -> Thu 18 Jun; head Fri 26 Jun; overdue from 2 Jul.
- Overdue every working day: C04 (handling due 10 Jun), B02 (backlog still in handling,
  due 1 Aug 2025), C08 (acceptance due 25 Jun), C07 (acceptance due Fri 10 Jul, so from
  Mon 13 Jul).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard import summaries
from dashboard.models import reminders
from dashboard.reminders import record
from entrypoints.cli import main
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
    # C05's officer reminder moved from Sunday 5 Jul to Friday 3 Jul; C06 due today
    (D(2026, 7, 3), [("B02", "overdue", "handling", -336), ("C04", "overdue", "handling", -23),
                     ("C08", "overdue", "acceptance", -8), ("B05", "overdue", "handling", -2),
                     ("C06", "head", "handling", 0), ("C05", "officer", "handling", 17)]),
    # the day before: C05 not yet reminded, B05 one day overdue
    (D(2026, 7, 2), [("B02", "overdue", "handling", -335), ("C04", "overdue", "handling", -22),
                     ("C08", "overdue", "acceptance", -7), ("B05", "overdue", "handling", -1),
                     ("C06", "head", "handling", 1)]),
    (D(2026, 7, 10), [("B02", "overdue", "handling", -343), ("C04", "overdue", "handling", -30),
                      ("C08", "overdue", "acceptance", -15), ("B05", "overdue", "handling", -9),
                      ("C06", "overdue", "handling", -7), ("C05", "deputy", "handling", 10)]),
    # C07's acceptance deadline (Fri 10 Jul) has passed
    (D(2026, 7, 13), [("B02", "overdue", "handling", -346), ("C04", "overdue", "handling", -33),
                      ("C08", "overdue", "acceptance", -18), ("B05", "overdue", "handling", -12),
                      ("C06", "overdue", "handling", -10), ("C07", "overdue", "acceptance", -3),
                      ("C05", "deputy", "handling", 7)]),
    (D(2026, 7, 15), [("B02", "overdue", "handling", -348), ("C04", "overdue", "handling", -35),
                      ("C08", "overdue", "acceptance", -20), ("B05", "overdue", "handling", -14),
                      ("C06", "overdue", "handling", -12), ("C07", "overdue", "acceptance", -5),
                      ("C05", "head", "handling", 5)]),
    # B05's deputy reminder moved from Sunday 21 Jun to Thursday 18 Jun (before the holiday)
    (D(2026, 6, 18), [("B02", "overdue", "handling", -321), ("C04", "overdue", "handling", -8),
                      ("B05", "deputy", "handling", 13), ("C06", "officer", "handling", 15)]),
    (D(2026, 6, 17), [("B02", "overdue", "handling", -320), ("C04", "overdue", "handling", -7),
                      ("B05", "officer", "handling", 14)]),
    # rest days: nothing is sent (Saturday; the Dragon Boat Festival)
    (D(2026, 7, 4), []),
    (D(2026, 6, 19), []),
])
@pytest.mark.parametrize("colors", ["computed", "stored"])
def test_levels_stages_and_rest_days(writable_city, on, expected, colors):
    _, engine = writable_city
    if colors == "stored":  # as `refresh` leaves them on that morning: the queue reads them
        with engine.begin() as conn:
            summaries.rebuild_colors(conn, on)
    queue = _queue(engine, on)
    assert list(zip(queue["case_no"], queue["level"], queue["stage"], queue["days_left"], strict=True)) == expected


def test_overdue_due_is_the_current_deadline(writable_city):
    _, engine = writable_city
    due = _queue(engine, D(2026, 7, 13)).set_index("case_no")["due"]
    assert due.to_dict() == {"B02": D(2025, 8, 1), "C04": D(2026, 6, 10), "C08": D(2026, 6, 25),
                             "B05": D(2026, 7, 1), "C06": D(2026, 7, 3), "C07": D(2026, 7, 10),
                             "C05": D(2026, 7, 20)}


def test_backlog_past_its_clearance_target_is_escalated(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:  # B01: closed, not resolved, target 30 Sep 2026
        b01 = conn.execute(sa.text("SELECT id FROM cases WHERE case_no = 'B01'")).scalar_one()
        summaries.retract_cases(conn, [b01])  # kept in step as every write path does
        conn.execute(sa.text("UPDATE cases SET clearance_target = '2026-06-26' WHERE case_no = 'B01'"))
        summaries.refresh_cases(conn, [b01])
    queue = _queue(engine, D(2026, 6, 30)).set_index("case_no")
    assert (queue.loc["B01", "level"], queue.loc["B01", "stage"], queue.loc["B01", "due"],
            queue.loc["B01", "days_left"]) == ("overdue", "clearance", D(2026, 6, 26), -4)


def test_recording_twice_a_day_adds_nothing(writable_city):
    _, engine = writable_city
    # 30 Jun: overdue B02 C04 C08; head letters to B05 (1 day left) and C06 (3 days left)
    assert _record(engine, D(2026, 6, 30)) == 5
    assert _record(engine, D(2026, 6, 30)) == 0
    queue = _queue(engine, D(2026, 6, 30))
    assert queue["case_no"].tolist() == ["B02", "C04", "C08", "B05", "C06"] and queue["recorded"].all()
    # Next day: the overdue escalations again, the head letters are not repeated.
    assert _queue(engine, D(2026, 7, 1))[["case_no", "level"]].values.tolist() == [
        ["B02", "overdue"], ["C04", "overdue"], ["C08", "overdue"]]
    assert _record(engine, D(2026, 7, 1)) == 3
    # A Saturday records nothing.
    assert _record(engine, D(2026, 7, 4)) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reminders)).scalar() == 8
        log = reminder_log(conn, scope_for(conn), Filters())
    assert log[["case_no", "reminded_on", "level", "stage"]].values.tolist() == [
        ["C08", D(2026, 7, 1), "overdue", "acceptance"], ["C04", D(2026, 7, 1), "overdue", "handling"],
        ["B02", D(2026, 7, 1), "overdue", "handling"],
        ["C06", D(2026, 6, 30), "head", "handling"], ["B05", D(2026, 6, 30), "head", "handling"],
        ["C08", D(2026, 6, 30), "overdue", "acceptance"], ["C04", D(2026, 6, 30), "overdue", "handling"],
        ["B02", D(2026, 6, 30), "overdue", "handling"],
    ]


def test_missed_days_catch_up_with_the_level_now_due(writable_city):
    _, engine = writable_city
    assert _record(engine, D(2026, 6, 16)) == 3  # B05 officer; B02, C04 overdue
    # Nobody ran the reminders from 17 to 23 June: on Wed 24 June B05 gets the deputy
    # reminder (due since 18 Jun) and C06 the deputy one too (its officer day, 18 Jun,
    # was missed and is not sent any more).
    queue = _queue(engine, D(2026, 6, 24))
    assert list(zip(queue["case_no"], queue["level"], queue["days_left"], strict=True)) == [
        ("B02", "overdue", -327), ("C04", "overdue", -14), ("B05", "deputy", 7), ("C06", "deputy", 9)]


def test_queue_follows_the_scope(writable_city):
    _, engine = writable_city
    assert _queue(engine, D(2026, 6, 30), "880102")["case_no"].tolist() == ["B02", "C04"]
    assert _queue(engine, D(2026, 6, 30), "880121002")["case_no"].tolist() == ["C08", "B05"]  # 北河乡
    assert _queue(engine, D(2026, 6, 30), "880102001").empty  # 东门街道: B01 target still ahead


def test_remind_command(writable_city, capsys, monkeypatch):
    url, _ = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    assert main(["remind", "--user", "bureau", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [{k: r[k] for k in ("case_no", "unit", "level", "due", "days_left", "stage")} for r in first] == [
        {"case_no": "B02", "unit": "西门街道办事处", "level": "overdue", "due": "2025-08-01", "days_left": -333,
         "stage": "handling"},
        {"case_no": "C04", "unit": "西门街道办事处", "level": "overdue", "due": "2026-06-10", "days_left": -20,
         "stage": "handling"},
        {"case_no": "C08", "unit": "北河乡人民政府", "level": "overdue", "due": "2026-06-25", "days_left": -5,
         "stage": "acceptance"},
        {"case_no": "B05", "unit": "北河乡人民政府", "level": "head", "due": "2026-07-01", "days_left": 1,
         "stage": "handling"},
        {"case_no": "C06", "unit": "南山镇人民政府", "level": "head", "due": "2026-07-03", "days_left": 3,
         "stage": "handling"},
    ]
    assert all(r["provisional"] is False for r in first)
    assert main(["remind", "--user", "bureau", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    # A day still to come is only previewed, never recorded; recorded once it has come.
    assert main(["remind", "--date", "2026-07-01"]) == 0
    assert "（预览，未登记）" in capsys.readouterr().out
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-07-01")
    assert main(["remind", "--user", "bureau", "--date", "2026-07-01"]) == 0
    assert "新登记 3 件" in capsys.readouterr().out
    assert main(["remind", "--user", "bureau", "--date", "2026-07-04"]) == 0
    rest = capsys.readouterr().out
    assert "2026-07-04 是休息日" in rest and "下一个工作日为 2026-07-06" in rest
    assert main(["remind", "--user", "bureau", "--date", "2026-07-04", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["case", "C04", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["reminders"]
    assert [(r["date"], r["level"], r["stage"]) for r in history] == [
        ("2026-07-01", "overdue", "handling"), ("2026-06-30", "overdue", "handling")]
