"""Query functions on the fixture city; every expected figure is worked out by hand
from the case comments in `tests/fixture_city.py`, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from queries.backlog import (
    backlog_by_township,
    backlog_monthly,
    backlog_township_month,
    unresolved_backlog_cases,
)
from queries.cases import case_by_number, open_cases, open_cases_page
from queries.filters import Filters, UnknownRegion, code_in_scope, scope_for
from queries.kpi import indicators
from queries.regions import counties, townships
from queries.spot_check import draw_candidates
from queries.supervision import colors_by_county
from tests.fixture_city import A1, A2, B1, B2, CITY, COUNTY_A, COUNTY_B, TODAY

H1 = Filters(date_from=dt.date(2026, 1, 1), date_to=TODAY)


@pytest.fixture
def conn(city_engine):
    with city_engine.connect() as connection:
        yield connection


@pytest.fixture
def city(conn):
    return scope_for(conn)


def test_scope_for_city_county_and_unknown(conn):
    city = scope_for(conn)
    assert (city.region_code, city.level, city.name) == ("880100", "city", "测试市")
    county = scope_for(conn, COUNTY_B)
    assert (county.level, county.name) == ("county", "乙县")
    with pytest.raises(UnknownRegion, match="990199"):
        scope_for(conn, "990199")


def test_code_in_scope_follows_the_region_tree(conn):
    import sqlalchemy as sa

    from dashboard.models import regions

    def codes(region_code=None):
        stmt = sa.select(regions.c.code).where(code_in_scope(regions.c.code, scope_for(conn, region_code)))
        return sorted(conn.execute(stmt).scalars())

    assert codes() == [CITY, COUNTY_A, A1, A2, COUNTY_B, B1, B2]
    assert codes(COUNTY_B) == [COUNTY_B, B1, B2]
    assert codes(A2) == [A2]


def test_city_indicators_first_half_2026(conn, city):
    result = indicators(conn, city, H1)
    assert result["period_from"] == "2026-01-01" and result["period_to"] == "2026-06-30"
    assert result["region"] == "880100"
    # C01–C08, B03, B05 registered in the period; B01, B02, P01, P02 in 2025 H1.
    assert result["total"] == 10
    assert result["total_same_period_last_year"] == 4
    assert result["yoy"] == pytest.approx(1.5)
    # online: C01 C03 C05 C06 B03 B05
    assert result["online_share"] == pytest.approx(0.6)
    # accepted in period: C01 C02 C03 C04 C05 C06 B03 B05; C02 late
    assert result["timely_acceptance_rate"] == pytest.approx(7 / 8)
    # closed in period: C01 C02 C03 B03 P04; C02 late
    assert result["on_time_closure_rate"] == pytest.approx(4 / 5)
    # evaluated: C01 C02 B03 P04 (C03 not); satisfied or basic: C01 B03 P04
    assert result["evaluation_rate"] == pytest.approx(4 / 5)
    assert result["satisfaction_rate"] == pytest.approx(3 / 4)
    # backlog B01–B05 registered by 2026-06-30; B03 and B04 resolved
    assert (result["backlog_total"], result["backlog_resolved"]) == (5, 2)
    assert result["backlog_resolution_rate"] == pytest.approx(0.4)
    assert (result["collective_batches"], result["collective_persons"]) == (1, 8)
    assert result["escalated_province_batches"] == 1
    assert result["escalated_beijing_batches"] == 1
    assert result["escalated_beijing_persons"] == 2
    # open on 2026-06-30: red C04 C08 B02 (B02 still in handling, due 2025-08-01);
    # yellow C06 and B05 (B05's handling deadline, 1 July, comes before its clearance
    # target); green C05 C07 B01
    assert result["colors"] == {"red": 3, "yellow": 2, "green": 3}


def test_county_indicators(conn):
    result = indicators(conn, scope_for(conn, COUNTY_A), H1)
    assert result["total"] == 4  # C01–C04
    assert result["total_same_period_last_year"] == 3  # B01 B02 P01
    assert result["yoy"] == pytest.approx(1 / 3)
    assert result["online_share"] == pytest.approx(0.5)
    assert (result["backlog_total"], result["backlog_resolved"]) == (2, 0)
    assert result["backlog_resolution_rate"] == 0.0
    assert result["colors"] == {"red": 2, "yellow": 0, "green": 1}


def test_empty_period_gives_null_rates(conn, city):
    result = indicators(conn, city, Filters(date_from=dt.date(2020, 1, 1), date_to=dt.date(2020, 12, 31)))
    assert result["total"] == 0 and result["total_same_period_last_year"] == 0
    for key in ("yoy", "online_share", "timely_acceptance_rate", "on_time_closure_rate",
                "evaluation_rate", "satisfaction_rate", "backlog_resolution_rate"):
        assert result[key] is None, key
    assert result["backlog_total"] == 0
    assert result["colors"] == {"red": 0, "yellow": 0, "green": 0}


def test_backlog_snapshot_is_taken_at_period_end(conn, city):
    # At 2026-03-31: B01 B02 B03 B04 registered; B03 (03-20) and B04 resolved.
    result = indicators(conn, city, Filters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 31)))
    assert (result["backlog_total"], result["backlog_resolved"]) == (4, 2)
    # At 2026-02-28 B03 is registered but not yet resolved.
    result = indicators(conn, city, Filters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 2, 28)))
    assert (result["backlog_total"], result["backlog_resolved"]) == (4, 1)


def test_domain_and_channel_filters(conn, city):
    land = indicators(conn, city, Filters(date_from=dt.date(2026, 1, 1), date_to=TODAY, domains=("land",)))
    assert land["total"] == 3  # C01 C04 C08
    online = indicators(conn, city, Filters(date_from=dt.date(2026, 1, 1), date_to=TODAY, channels=("online",)))
    assert online["total"] == 6 and online["online_share"] == 1.0


def test_open_cases_sorted_red_first_with_deadlines(conn, city):
    frame = open_cases(conn, city, H1)
    # red by days left, yellow (B05 1 day, C06 3 days), green (C07 10, C05 20, B01 92)
    assert frame["case_no"].tolist() == ["B02", "C04", "C08", "B05", "C06", "C07", "C05", "B01"]
    by_no = frame.set_index("case_no")
    assert by_no.loc["C04", "days_left"] == -20
    assert by_no.loc["C04", "stage"] == "handling"
    assert by_no.loc["C08", "stage"] == "acceptance"
    assert by_no.loc["C08", "deadline"] == dt.date(2026, 6, 25)
    assert by_no.loc["B01", "stage"] == "clearance"
    assert by_no.loc["B01", "days_left"] == 92
    # B02 is still in handling: its handling deadline 2025-08-01 (333 days ago) comes
    # before its clearance target 2026-03-31, so that is its current deadline.
    assert (by_no.loc["B02", "stage"], by_no.loc["B02", "days_left"]) == ("handling", -333)
    assert by_no.loc["B02", "deadline"] == dt.date(2025, 8, 1)
    # B05: handling deadline 2026-07-01 before its target 2026-12-31 -> 1 day left
    assert (by_no.loc["B05", "stage"], by_no.loc["B05", "days_left"], by_no.loc["B05", "color"]) == (
        "handling", 1, "yellow")
    assert by_no.loc["C05", "days_open"] == 41
    assert by_no.loc["B02", "county_name"] == "甲区"
    assert by_no.loc["B02", "leader_name"] == "赵一"


def test_colors_by_county(conn, city):
    frame = colors_by_county(conn, city, H1).set_index("county_code")
    assert frame.loc[COUNTY_A, ["red", "yellow", "green", "total"]].tolist() == [2, 0, 1, 3]
    # 乙县: red C08; yellow C06 B05; green C05 C07
    assert frame.loc[COUNTY_B, ["red", "yellow", "green", "total"]].tolist() == [1, 2, 2, 5]


def test_backlog_by_township_includes_zeros(conn, city):
    frame = backlog_by_township(conn, city, H1).set_index("township_code")
    assert frame.loc[[A1, A2, B1, B2], "unresolved"].tolist() == [1, 1, 0, 1]
    assert frame.loc[[A1, A2, B1, B2], "backlog_total"].tolist() == [1, 1, 1, 2]
    assert frame.loc[A1, "per_10k"] == pytest.approx(0.5)
    assert frame.loc[B2, "per_10k"] == pytest.approx(0.2)
    assert frame.index[-1] == B1  # the only township with none sorts last


def test_backlog_monthly(conn, city):
    frame = backlog_monthly(conn, city, H1)
    assert frame["opened"].tolist() == [0, 1, 0, 0, 1, 0]  # B03 in Feb, B05 in May
    assert frame["resolved"].tolist() == [0, 0, 1, 0, 0, 0]  # B03 in March
    assert frame["remaining"].tolist() == [2, 3, 2, 2, 3, 3]


def test_backlog_township_month(conn, city):
    frame = backlog_township_month(conn, city, H1)
    b2 = frame[frame["township_code"] == B2]["unresolved"].tolist()
    assert b2 == [0, 0, 0, 0, 1, 1]
    assert len(frame) == 4 * 6


def test_unresolved_backlog_cases_oldest_first(conn, city):
    assert unresolved_backlog_cases(conn, city, H1)["case_no"].tolist() == ["B01", "B02", "B05"]
    assert unresolved_backlog_cases(conn, city, H1, township_code=A2)["case_no"].tolist() == ["B02"]


def test_region_lists(conn, city):
    assert counties(conn, city)["name"].tolist() == ["甲区", "乙县"]
    towns = townships(conn, scope_for(conn, COUNTY_B), boundaries=True)
    assert towns["code"].tolist() == [B1, B2]
    assert set(towns["county_code"]) == {COUNTY_B}
    assert towns["boundary"].str.startswith('{"type": "Polygon"').all()


def test_scope_keeps_other_counties_out(conn):
    county_b = scope_for(conn, COUNTY_B)
    assert case_by_number(conn, county_b, "C01", TODAY).empty
    assert case_by_number(conn, county_b, "C05", TODAY)["township_name"].tolist() == ["南山镇"]
    assert [c.case_no for c in draw_candidates(conn, county_b, Filters(), TODAY)] == ["B05"]
    township = scope_for(conn, A2)
    assert open_cases(conn, township, H1)["case_no"].tolist() == ["B02", "C04"]


def test_draw_candidates_are_unresolved_backlog(conn, city):
    candidates = draw_candidates(conn, city, Filters(), TODAY)
    assert [(c.case_no, c.county_code) for c in candidates] == [
        ("B01", COUNTY_A), ("B02", COUNTY_A), ("B05", COUNTY_B)
    ]
    # On 2026-03-01 B03 was still unresolved and B05 not yet registered.
    earlier = draw_candidates(conn, city, Filters(), dt.date(2026, 3, 1))
    assert [c.case_no for c in earlier] == ["B01", "B02", "B03"]
    assert [c.case_no for c in draw_candidates(conn, city, Filters(county_code=B1[:6]), TODAY)] == ["B05"]


def test_county_color_thresholds_change_colors(writable_city):
    from dashboard.rules import ColorRule, save_rule

    _, engine = writable_city
    with engine.begin() as conn:
        # 乙县: yellow only in the last day and at 100% used -> C06 (3 days left, 28/31 used) is
        # green; B05 (1 day left of its handling deadline) stays yellow
        save_rule(conn, COUNTY_B, ColorRule(yellow_days_left=1, yellow_used_share=1.0), by="test")
        # city default: yellow from 10 days left; 甲区 has no case 6–10 days from its deadline
        save_rule(conn, "880100", ColorRule(yellow_days_left=10), by="test")
    with engine.connect() as conn:
        city = scope_for(conn)
        frame = colors_by_county(conn, city, H1).set_index("county_code")
        assert frame.loc[COUNTY_B, ["red", "yellow", "green"]].tolist() == [1, 1, 3]
        assert frame.loc[COUNTY_A, ["red", "yellow", "green"]].tolist() == [2, 0, 1]
        assert indicators(conn, city, H1)["colors"] == {"red": 3, "yellow": 1, "green": 4}
    with engine.begin() as conn:
        save_rule(conn, COUNTY_B, None, by="test")  # back to the city default
    with engine.connect() as conn:
        open_now = open_cases(conn, scope_for(conn), H1).set_index("case_no")["color"]
    assert (open_now["C06"], open_now["C07"]) == ("yellow", "yellow")


@pytest.mark.parametrize("as_of", [TODAY, dt.date(2026, 6, 29)], ids=["stored colors", "computed colors"])
def test_open_cases_page_fetches_one_page_with_the_total(conn, as_of):
    """Open at 30 June, most urgent first: red B02 (-333 days), C04 (-20), C08 (-5);
    yellow B05 (1), C06 (3); green C07 (10), C05 (20), B01 (92). On 29 June (colors not
    stored for that day: computed) the order is the same."""
    filters = Filters(date_from=dt.date(2026, 1, 1), date_to=as_of)
    city = scope_for(conn)
    page = open_cases_page(conn, city, filters, ("red", "yellow"), (), "", 1, 3)
    assert page["case_no"].tolist() == ["C04", "C08", "B05"]
    assert page["total"].tolist() == [5, 5, 5]
    every = open_cases_page(conn, city, filters, limit=None)
    assert every["case_no"].tolist() == ["B02", "C04", "C08", "B05", "C06", "C07", "C05", "B01"]
    assert every.drop(columns="total").equals(open_cases(conn, city, filters))
    # stage and unit: in handling, unit 西门 (unit 2: C04, B02)
    page = open_cases_page(conn, city, filters, (), ("handling",), "西门", 0, 10)
    assert page["case_no"].tolist() == ["B02", "C04"] and page["total"].iloc[0] == 2
    assert open_cases_page(conn, scope_for(conn, COUNTY_B), filters, ("red",), (), "", 0, 10)["case_no"].tolist() \
        == ["C08"]
