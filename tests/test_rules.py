"""The three-color rule (domain.md §5) on single cases, with hand-set dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.rules import ColorRule, assign_colors, count_colors

AS_OF = dt.date(2026, 6, 30)
D = dt.date


def _case(**fields):
    row = dict(registered_on=D(2026, 6, 1), accepted_on=None, acceptance_due=D(2026, 6, 16),
               handling_due=None, closed_on=None, resolved_on=None, is_backlog=False,
               clearance_target=None)
    row.update(fields)
    return row


CASES = [
    # (description, case, stage, days_left, color)
    ("acceptance, 10 of 15 days left", _case(
        registered_on=D(2026, 6, 25), acceptance_due=D(2026, 7, 10)), "acceptance", 10, "green"),
    ("acceptance deadline is today", _case(acceptance_due=AS_OF), "acceptance", 0, "yellow"),
    ("acceptance deadline passed yesterday", _case(acceptance_due=D(2026, 6, 29)), "acceptance", -1, "red"),
    ("handling, 6 days left, 54 of 60 used (90%)", _case(
        accepted_on=D(2026, 5, 7), handling_due=D(2026, 7, 6)), "handling", 6, "yellow"),
    ("handling, exactly 5 days left", _case(
        accepted_on=D(2026, 6, 20), handling_due=D(2026, 7, 5)), "handling", 5, "yellow"),
    ("handling, 6 days left, 10 of 16 used", _case(
        accepted_on=D(2026, 6, 20), handling_due=D(2026, 7, 6)), "handling", 6, "green"),
    ("handling, 48 of 60 used (exactly 80%)", _case(
        accepted_on=D(2026, 5, 13), handling_due=D(2026, 7, 12)), "handling", 12, "yellow"),
    ("handling, 47 of 60 used", _case(
        accepted_on=D(2026, 5, 14), handling_due=D(2026, 7, 13)), "handling", 13, "green"),
    ("backlog past its clearance target, handling deadline ahead", _case(
        accepted_on=D(2026, 6, 2), handling_due=D(2026, 8, 1), is_backlog=True,
        clearance_target=D(2026, 6, 1)), "clearance", -29, "red"),
    # A backlog case's current deadline is the earliest one still running.
    ("backlog still in handling past its handling deadline is red, target ahead", _case(
        accepted_on=D(2025, 6, 2), handling_due=D(2025, 8, 1), is_backlog=True,
        clearance_target=D(2026, 7, 30)), "handling", -333, "red"),
    ("backlog in handling, target before the handling deadline", _case(
        accepted_on=D(2026, 6, 2), handling_due=D(2026, 8, 1), is_backlog=True,
        clearance_target=D(2026, 7, 3)), "clearance", 3, "yellow"),
    ("backlog in handling, handling deadline before the target (10 of 16 days used)", _case(
        accepted_on=D(2026, 6, 20), handling_due=D(2026, 7, 6), is_backlog=True,
        clearance_target=D(2026, 12, 31)), "handling", 6, "green"),
    ("backlog not yet accepted, acceptance overdue, target ahead", _case(
        is_backlog=True, clearance_target=D(2026, 12, 31)), "acceptance", -14, "red"),
    ("backlog: acceptance deadline and target on the same day -> acceptance (5 of 15 used)", _case(
        registered_on=D(2026, 6, 25), acceptance_due=D(2026, 7, 10), is_backlog=True,
        clearance_target=D(2026, 7, 10)), "acceptance", 10, "green"),
    ("backlog without a target is supervised on its procedural deadline", _case(
        accepted_on=D(2026, 6, 2), handling_due=D(2026, 7, 3), is_backlog=True), "handling", 3, "yellow"),
    ("backlog closed but unresolved, target ahead", _case(
        accepted_on=D(2026, 6, 2), handling_due=D(2026, 8, 1), closed_on=D(2026, 6, 20),
        is_backlog=True, clearance_target=D(2026, 9, 30)), "clearance", 92, "green"),
    ("accepted after the as-of date counts as not yet accepted", _case(
        registered_on=D(2026, 6, 25), acceptance_due=D(2026, 7, 10), accepted_on=D(2026, 7, 2),
        handling_due=D(2026, 9, 1)), "acceptance", 10, "green"),
]


@pytest.mark.parametrize("description,case,stage,days_left,color", CASES, ids=[c[0] for c in CASES])
def test_stage_deadline_and_color(description, case, stage, days_left, color):
    row = assign_colors(pd.DataFrame([case]), AS_OF).iloc[0]
    assert (row["stage"], row["days_left"], row["color"]) == (stage, days_left, color)


def test_closed_cases_have_no_color():
    frame = pd.DataFrame([
        _case(accepted_on=D(2026, 6, 2), handling_due=D(2026, 8, 1), closed_on=D(2026, 6, 20)),
        _case(accepted_on=D(2026, 6, 2), handling_due=D(2026, 8, 1), closed_on=D(2026, 6, 20),
              is_backlog=True, resolved_on=D(2026, 6, 25), clearance_target=D(2026, 9, 30)),
    ])
    out = assign_colors(frame, AS_OF)
    assert out["color"].isna().all() and out["days_left"].isna().all()
    assert count_colors(out) == {"red": 0, "yellow": 0, "green": 0}


def test_thresholds_are_parameters():
    case = _case(accepted_on=D(2026, 6, 20), handling_due=D(2026, 7, 6))  # 6 left, 10/16 used
    frame = pd.DataFrame([case])
    assert assign_colors(frame, AS_OF, ColorRule(yellow_days_left=7)).loc[0, "color"] == "yellow"
    assert assign_colors(frame, AS_OF, ColorRule(yellow_used_share=0.6)).loc[0, "color"] == "yellow"
    backlog = pd.DataFrame([_case(accepted_on=D(2026, 6, 2), handling_due=D(2026, 8, 1),
                                  is_backlog=True, clearance_target=D(2026, 6, 1))])
    # Without the backlog red rule a case past its target is still at most 5 days from it.
    assert assign_colors(backlog, AS_OF, ColorRule(red_backlog_past_target=False)).loc[0, "color"] == "yellow"
    # B02 of the fixture: handling deadline (2025-08-01) and target (2026-03-31) both passed;
    # either red rule alone makes it red, its current deadline being the handling one.
    both = pd.DataFrame([_case(accepted_on=D(2025, 6, 2), handling_due=D(2025, 8, 1), is_backlog=True,
                               clearance_target=D(2026, 3, 31))])
    for rule, color in [(ColorRule(), "red"), (ColorRule(red_past_deadline=False), "red"),
                        (ColorRule(red_backlog_past_target=False), "red"),
                        (ColorRule(red_past_deadline=False, red_backlog_past_target=False), "yellow")]:
        row = assign_colors(both, AS_OF, rule).iloc[0]
        assert (row["stage"], row["deadline"], row["color"]) == ("handling", D(2025, 8, 1), color), rule


def test_count_colors_and_empty_frame():
    frame = pd.DataFrame([
        _case(acceptance_due=D(2026, 6, 29)),
        _case(acceptance_due=AS_OF),
        _case(registered_on=D(2026, 6, 25), acceptance_due=D(2026, 7, 10)),
        _case(registered_on=D(2026, 6, 26), acceptance_due=D(2026, 7, 11)),
    ])
    assert count_colors(assign_colors(frame, AS_OF)) == {"red": 1, "yellow": 1, "green": 2}
    empty = assign_colors(pd.DataFrame(columns=list(_case())), AS_OF)
    assert count_colors(empty) == {"red": 0, "yellow": 0, "green": 0}
