"""Backlog clearance forecast (dashboard/forecast.py) on series built by hand, and its
query on the fixture city."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import sqlalchemy as sa

from dashboard import actions, db, forecast
from dashboard.models import backlog_targets, cases
from dashboard.permissions import Actor, Refused
from dashboard.scope import scope_for
from queries.filters import Filters
from queries.forecast import clearance_forecast, weekly_backlog
from tests import fixture_city
from tests.fixture_city import A1, CITY, COUNTY_A, COUNTY_B

AS_OF = dt.date(2026, 6, 30)


def test_a_straight_line_clears_on_the_day_the_line_reaches_zero():
    # 100, 95, …, 40: 5 cleared a week net, exactly; 40 left → 8 weeks → 56 days
    levels = [100 - 5 * k for k in range(13)]
    result = forecast.forecast(levels, AS_OF, dt.date(2026, 12, 31))
    assert result.unresolved == 40
    assert result.weekly_pace == pytest.approx(5.0)
    assert result.pace_se == pytest.approx(0.0, abs=1e-12)
    assert result.projected_zero_date == AS_OF + dt.timedelta(days=56) == dt.date(2026, 8, 25)
    assert result.low == result.high == result.projected_zero_date
    assert result.on_track is True
    assert forecast.forecast(levels, AS_OF, dt.date(2026, 8, 24)).on_track is False  # one day short


def test_the_band_from_the_slopes_standard_error():
    # levels 10, 8, 8, 4 at weeks 0..3: mean 7.5, Σ(t − 1.5)² = 5, slope = (−1.5·2.5 − 0.5·0.5 + 0.5·0.5
    # − 1.5·3.5) / 5 = −1.8; fitted 10.2, 8.4, 6.6, 4.8; residuals −0.2, −0.4, 1.4, −0.8; SSE = 2.8;
    # se = √(2.8 / (4 − 2) / 5) = √0.28 ≈ 0.529
    result = forecast.forecast([10, 8, 8, 4], AS_OF, None)
    assert result.weekly_pace == pytest.approx(1.8)
    assert result.pace_se == pytest.approx(math.sqrt(0.28))
    # 4 left: 4 / 1.8 weeks = 15.6 days → 16; fast end 4 / (1.8 + 1.037) × 7 = 9.87 → 10;
    # slow end 4 / (1.8 − 1.037) × 7 = 36.7 → 37
    assert result.projected_zero_date == AS_OF + dt.timedelta(days=16)
    assert result.low == AS_OF + dt.timedelta(days=10)
    assert result.high == AS_OF + dt.timedelta(days=37)
    assert result.on_track is None  # no target
    # noisier: 10, 6, 10, 6 → slope −0.8, residuals ±… se ≈ 1.13: the slow end never clears
    noisy = forecast.forecast([10, 6, 10, 6], AS_OF, dt.date(2026, 12, 31))
    assert noisy.weekly_pace == pytest.approx(0.8)
    assert noisy.projected_zero_date == AS_OF + dt.timedelta(days=53)  # 6 / 0.8 × 7 = 52.5
    assert noisy.high is None and noisy.on_track is True


def test_a_growing_backlog_never_clears_and_zero_is_cleared_today():
    growing = forecast.forecast([10, 11, 12, 13], AS_OF, dt.date(2026, 12, 31))
    assert growing.weekly_pace == pytest.approx(-1.0)
    assert growing.projected_zero_date is None and growing.high is None and growing.on_track is False
    cleared = forecast.forecast([3, 2, 1, 0], AS_OF, dt.date(2026, 12, 31))
    assert cleared.projected_zero_date == cleared.low == cleared.high == AS_OF and cleared.on_track is True


def test_levels_at_week_ends():
    ends = forecast.week_ends(AS_OF, 2)
    assert ends == [dt.date(2026, 6, 16), dt.date(2026, 6, 23), AS_OF]
    registered = [dt.date(2026, 6, 1), dt.date(2026, 6, 20), dt.date(2026, 6, 1)]
    resolved = [None, None, dt.date(2026, 6, 23)]  # resolved on the 23rd: not open at that week end
    assert forecast.levels_at(registered, resolved, ends) == [2, 2, 2]
    assert forecast.default_target(AS_OF) == dt.date(2026, 12, 31)


@pytest.fixture()
def city(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'forecast.db'}")
    fixture_city.build(engine)
    yield engine
    engine.dispose()


def test_the_query_per_county_with_targets_and_the_missing_first(city):
    with city.connect() as conn:
        scope = scope_for(conn)
        backlog = conn.execute(sa.select(cases.c.county_code, cases.c.registered_on, cases.c.resolved_on)
                               .where(cases.c.is_backlog.is_(True))).all()
        frame = clearance_forecast(conn, scope, Filters(date_to=AS_OF), AS_OF)
        weekly = weekly_backlog(conn, scope, Filters(date_to=AS_OF), AS_OF)
    assert frame["region"].tolist()[0] == CITY and set(frame["region"][1:]) == {COUNTY_A, COUNTY_B}
    # the city's level today equals the backlog cases registered by then and unresolved then (plain count)
    open_now = sum(1 for r in backlog if r.registered_on <= AS_OF and (r.resolved_on is None or r.resolved_on > AS_OF))
    assert int(frame.iloc[0]["unresolved"]) == open_now
    assert weekly[(weekly["region"] == CITY)]["unresolved"].iloc[-1] == open_now
    assert (frame["target_date"] == dt.date(2026, 12, 31)).all() and not frame["target_set"].any()
    # a county that misses (or cannot reach) its target comes before one on track
    flags = frame["on_track"].tolist()[1:]
    assert flags == sorted(flags)  # False before True


def test_targets_are_set_by_the_bureau_in_scope(city):
    with city.connect() as conn:
        county_a = scope_for(conn, COUNTY_A)
        whole = scope_for(conn)
    with pytest.raises(Refused):
        actions.set_backlog_target(city, Actor("county_a", "county", county_a), COUNTY_A, dt.date(2026, 9, 30), AS_OF)
    with pytest.raises(actions.ActionError):  # a township has no target of its own
        actions.set_backlog_target(city, Actor("bureau", "bureau", whole), A1, dt.date(2026, 9, 30), AS_OF)
    with pytest.raises(actions.ActionError):  # in the past
        actions.set_backlog_target(city, Actor("bureau", "bureau", whole), COUNTY_A, dt.date(2026, 1, 1), AS_OF)
    actions.set_backlog_target(city, Actor("bureau", "bureau", whole), COUNTY_A, dt.date(2026, 9, 30), AS_OF)
    with city.connect() as conn:
        assert conn.execute(sa.select(backlog_targets.c.target_date)).scalar() == dt.date(2026, 9, 30)
        frame = clearance_forecast(conn, whole, Filters(date_to=AS_OF), AS_OF).set_index("region")
    assert frame.loc[COUNTY_A, "target_date"] == dt.date(2026, 9, 30) and frame.loc[COUNTY_A, "target_set"]
