"""Early warnings: the stated rule (dashboard/warnings_rule.py) on synthetic series,
and the warning actions' role and scope checks on the fixture city."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard import actions, db, early_warning, warnings_rule
from dashboard.models import audit_log, cases, early_warnings, warning_deliveries, warning_events
from dashboard.permissions import Actor, Refused
from dashboard.scope import scope_for
from tests import fixture_city
from tests.fixture_city import A1, A2, B1, CITY, COUNTY_A, COUNTY_B

# ------------------------------------------------------------------ the Poisson tail


def test_poisson_upper_tail_matches_hand_values():
    # P(X ≥ 1 | 2) = 1 − e^−2; P(X ≥ 3 | 1) = 1 − e^−1 (1 + 1 + 1/2)
    assert warnings_rule.poisson_upper_tail(1, 2.0) == pytest.approx(1 - math.exp(-2), rel=1e-12)
    assert warnings_rule.poisson_upper_tail(3, 1.0) == pytest.approx(1 - math.exp(-1) * 2.5, rel=1e-12)
    assert warnings_rule.poisson_upper_tail(0, 5.0) == 1.0
    # a far tail: P(X ≥ 20 | 1) ≈ e^−1 / 20! (1 + 1/21 + …)
    assert warnings_rule.poisson_upper_tail(20, 1.0) == pytest.approx(math.exp(-1) / math.factorial(20) * 1.05, rel=0.01)


def test_binomial_upper_tail_by_hand():
    # P(Bin(3, 1/2) ≥ 2) = 4/8; P(Bin(10, 0.1) ≥ 10) = 1e-10
    assert warnings_rule.binomial_upper_tail(2, 3, 0.5) == pytest.approx(0.5)
    assert warnings_rule.binomial_upper_tail(10, 10, 0.1) == pytest.approx(1e-10)
    assert warnings_rule.binomial_upper_tail(0, 10, 0.1) == 1.0


def test_expected_count_and_a_single_cell_by_hand():
    # baseline 73 cases a year, 7-day window: (73 + 0.5) × 7 / 365 = 1.4096
    result = warnings_rule.evaluate_cells([9], [73], 7, tests=1)
    assert result["expected"][0] == pytest.approx(73.5 * 7 / 365)
    # p = P(Bin(82, 7/372) ≥ 9) ≈ 5e-5 ≤ 0.01
    assert result["p_value"][0] == pytest.approx(
        sum(math.comb(82, k) * (7 / 372) ** k * (365 / 372) ** (82 - k) for k in range(9, 83)))
    assert bool(result["flagged"][0])
    # 2 cases are under the minimum count of 3, whatever the p-value
    assert not warnings_rule.evaluate_cells([2], [0], 7, tests=1)["flagged"][0]
    # in a sensitive period the minimum is 2 and α is 0.05
    assert warnings_rule.evaluate_cells([2], [0], 7, tests=1, sensitive=True)["flagged"][0]


def _events(daily_rates: dict, day: pd.Timestamp, rng, surge: dict | None = None) -> pd.DataFrame:
    """Cases per cell as Poisson counts per day over the 430 days before `day`; `surge`
    adds cases to a cell's last days: {(region, domain): (days, extra cases)}."""
    days = pd.date_range(day - pd.Timedelta(days=429), day)
    frames = []
    for (region, domain), rate in daily_rates.items():
        counts = rng.poisson(rate, len(days))
        if surge and (region, domain) in surge:
            span, extra = surge[(region, domain)]
            counts[-span:] += np.bincount(rng.integers(0, span, extra), minlength=span)
        frames.append(pd.DataFrame({"region": region, "domain": domain, "day": np.repeat(days, counts)}))
    return pd.concat(frames, ignore_index=True)


DAY = pd.Timestamp("2026-11-30")


def test_an_injected_surge_is_detected_and_nothing_else():
    rng = np.random.default_rng(1)
    rates = {(f"t{i:02d}", d): r for i in range(20) for d, r in (("land", 0.1), ("labor", 0.05), ("housing", 0.2))}
    events = _events(rates, DAY, rng, surge={("t07", "land"): (7, 12), ("t13", "housing"): (30, 30)})
    result = warnings_rule.scan(events, DAY)
    flagged = set(map(tuple, result[result["flagged"]][["region", "domain", "window_days"]].to_numpy().tolist()))
    assert ("t07", "land", 7) in flagged  # 12 extra cases in a week against about 0.7
    assert ("t13", "housing", 30) in flagged  # 30 extra in a month against about 6
    assert {(r, d) for r, d, _ in flagged} <= {("t07", "land"), ("t13", "housing")}
    assert result["level"].max() == pytest.approx(0.01 / 60)  # Bonferroni over 20 × 3 cells


def test_pure_noise_false_alarm_rate_is_within_the_stated_level():
    """Over many simulated city-days of pure noise (no surge), the share of days with any
    warning (the family-wise error the rule controls) stays within α = 1% (plus three
    standard errors of the simulation); per cell it is far below α."""
    rng = np.random.default_rng(7)
    n_days, n_cells, window = 1500, 40, 7
    rates = rng.uniform(0.02, 0.5, n_cells)
    baseline = rng.poisson(rates * 365, (n_days, n_cells))  # the 365 days before the window
    observed = rng.poisson(rates * window, (n_days, n_cells))
    any_alarm = 0
    cell_alarms = 0
    for day in range(n_days):
        flags = warnings_rule.evaluate_cells(observed[day], baseline[day], window)["flagged"].to_numpy()
        any_alarm += bool(flags.any())
        cell_alarms += int(flags.sum())
    alpha = warnings_rule.NORMAL.alpha
    assert any_alarm / n_days <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / n_days)
    assert cell_alarms / (n_days * n_cells) <= alpha / n_cells * 3


def test_sensitive_periods_lower_the_thresholds():
    assert warnings_rule.in_sensitive_period(dt.date(2026, 3, 5), [(dt.date(2026, 3, 4), dt.date(2026, 3, 11))])
    assert not warnings_rule.in_sensitive_period(dt.date(2026, 3, 12), [(dt.date(2026, 3, 4), dt.date(2026, 3, 11))])
    # 5 cases against about 0.7 expected, 30 cells: p = P(Bin(41, 7/372) ≥ 5) ≈ 0.0010, above
    # 0.01 / 30 but below 0.05 / 30
    normal = warnings_rule.evaluate_cells([5], [36], 7, tests=30)
    sensitive = warnings_rule.evaluate_cells([5], [36], 7, tests=30, sensitive=True)
    assert not normal["flagged"][0] and sensitive["flagged"][0]


def test_the_seasonal_factor_by_hand():
    # two years of one case a day, except 3 a day in the 7 days ending a year before DAY:
    # factor = (21 / 7) / (365 / 365) = 3, clamped to 2
    days = pd.date_range(DAY - pd.Timedelta(days=800), DAY)
    daily = pd.Series(1.0, index=days)
    last_year = DAY - pd.Timedelta(days=365)
    daily[(daily.index > last_year - pd.Timedelta(days=7)) & (daily.index <= last_year)] = 3.0
    assert warnings_rule.seasonal_factor(daily, DAY, 7) == 2.0
    daily[(daily.index > last_year - pd.Timedelta(days=7)) & (daily.index <= last_year)] = 1.5
    assert warnings_rule.seasonal_factor(daily, DAY, 7) == pytest.approx(1.5)
    assert warnings_rule.seasonal_factor(daily[-400:], DAY, 7) == 1.0  # under two years of history


# ------------------------------------------------------------------ actions: role and scope


@pytest.fixture()
def city(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'warn.db'}")
    fixture_city.build(engine)
    day = fixture_city.TODAY
    # A surge of 8 land cases in 东门街道 in the last week (no baseline): one warning.
    with engine.begin() as conn:
        conn.execute(cases.insert(), [fixture_city._case(f"S{i:02d}", day - dt.timedelta(days=i % 7), "online", A1,
                                                         "land", 1) for i in range(8)])
    yield engine
    engine.dispose()


def _actor(engine, role, region=None, name=None):
    with engine.connect() as conn:
        scope = scope_for(conn, region) if region else scope_for(conn)
    return Actor(name or role, role, scope)


def test_the_bureau_raises_once_per_day_and_others_may_not(city):
    day = fixture_city.TODAY
    with pytest.raises(Refused):
        actions.raise_warnings(city, _actor(city, "county", COUNTY_A), day, day)
    with pytest.raises(Refused):
        actions.raise_warnings(city, _actor(city, "supervision"), day, day)
    bureau = _actor(city, "bureau")
    new, total = actions.raise_warnings(city, bureau, day, day)
    assert new >= 1 and new == total
    assert actions.raise_warnings(city, bureau, day, day) == (0, total)  # idempotent
    with city.connect() as conn:
        rows = conn.execute(sa.select(early_warnings.c.region_code, early_warnings.c.domain)).all()
        pushes = conn.execute(sa.select(warning_deliveries.c.recipient, warning_deliveries.c.region_code)
                              .order_by(warning_deliveries.c.id)).all()
        denied = conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                              .where(audit_log.c.action == "warn", audit_log.c.outcome == "denied")).scalar_one()
    assert {(r, d) for r, d in rows} == {(A1, "land")}
    assert [p.recipient for p in pushes[:3]] == ["city", "territory", "competent"]
    assert pushes[0].region_code == CITY and pushes[1].region_code == A1
    assert denied == 2


def test_recipients_act_only_in_their_scope_and_the_bureau_closes(city):
    day = fixture_city.TODAY
    actions.raise_warnings(city, _actor(city, "bureau"), day, day)
    with city.connect() as conn:
        warning_id = conn.execute(sa.select(early_warnings.c.id)).scalars().first()
        push = dict(conn.execute(sa.select(warning_deliveries.c.recipient, warning_deliveries.c.id)
                                 .where(warning_deliveries.c.warning_id == warning_id)).all())
    # 乙县 and 西门街道 are outside 东门街道: refused; 甲区 and 东门街道 may acknowledge the territory push
    for role, region in (("county", COUNTY_B), ("township", A2), ("township", B1)):
        with pytest.raises(Refused):
            actions.acknowledge_warning(city, _actor(city, role, region), push["territory"])
    with pytest.raises(Refused):  # the city's push is the city leaders' own
        actions.acknowledge_warning(city, _actor(city, "county", COUNTY_A), push["city"])
    with pytest.raises(Refused):  # supervision has no respond permission
        actions.acknowledge_warning(city, _actor(city, "supervision"), push["city"])
    actions.acknowledge_warning(city, _actor(city, "township", A1, "town_a1"), push["territory"])
    with pytest.raises(actions.ActionError):  # twice
        actions.acknowledge_warning(city, _actor(city, "county", COUNTY_A), push["territory"])
    with pytest.raises(actions.ActionError):  # a note is required
        actions.act_on_warning(city, _actor(city, "city"), push["city"], "")
    actions.act_on_warning(city, _actor(city, "city", name="city_user"), push["city"], "已召开专题会研究")
    with pytest.raises(Refused):  # closing is the bureau's
        actions.close_warning(city, _actor(city, "city"), warning_id, "已化解")
    actions.close_warning(city, _actor(city, "bureau"), warning_id, "问题已化解，访情回落")
    with city.connect() as conn:
        status = conn.execute(sa.select(early_warnings.c.status)).scalar()
        kinds = conn.execute(sa.select(warning_events.c.kind).where(warning_events.c.warning_id == warning_id)
                             .order_by(warning_events.c.id)).scalars().all()
    assert status == "closed"
    assert kinds == ["raised", "acknowledged", "acted", "closed"]


def test_sensitive_periods_by_the_bureau_or_the_administrator(city):
    with pytest.raises(Refused):
        actions.add_sensitive_period(city, _actor(city, "county", COUNTY_A), "两会", dt.date(2026, 3, 4),
                                     dt.date(2026, 3, 11))
    with pytest.raises(actions.ActionError):
        actions.add_sensitive_period(city, _actor(city, "bureau"), "两会", dt.date(2026, 3, 11), dt.date(2026, 3, 4))
    actions.add_sensitive_period(city, Actor("admin", "admin", None), "两会", dt.date(2026, 3, 4), dt.date(2026, 3, 11))
    with city.connect() as conn:
        assert early_warning.sensitive_on(conn, dt.date(2026, 3, 5)) == ["两会"]
        assert early_warning.sensitive_on(conn, dt.date(2026, 3, 12)) == []


def test_the_queries_show_each_scope_its_own_warnings_and_pushes(city):
    from docx import Document

    from entrypoints.bulletin import warning_notice_docx
    from queries.filters import Filters
    from queries.warnings import day_warnings, deliveries, warning_counts

    day = fixture_city.TODAY
    actions.raise_warnings(city, _actor(city, "bureau"), day, day)
    with city.connect() as conn:
        seen = {code: day_warnings(conn, scope_for(conn, code), Filters(), day)
                for code in (CITY, COUNTY_A, COUNTY_B, A1, A2)}
        pushes = {code: deliveries(conn, scope_for(conn, code), Filters(), day) for code in (CITY, COUNTY_A, A1, B1)}
        counts = warning_counts(conn, scope_for(conn, COUNTY_A), Filters(date_from=day, date_to=day))
    # 8 cases in the last week with no baseline: both the 7-day and the 30-day window flag it
    assert [len(seen[c]) for c in (CITY, COUNTY_A, COUNTY_B, A1, A2)] == [2, 2, 0, 2, 0]
    assert sorted(seen[A1]["window_days"]) == [7, 30]
    row = seen[A1][seen[A1]["window_days"] == 7].iloc[0]
    assert (row["region_name"], row["domain_name"], row["window_days"], row["observed"]) == ("东门街道", "自然资源", 7, 8)
    # the city sees all three pushes; 甲区 and 东门街道 the territory's (the competent unit is the city's
    # 自然资源局, named on the fixture's land cases); 乙县's township none
    assert sorted(pushes[CITY]["recipient"]) == ["city", "city", "competent", "competent", "territory", "territory"]
    assert set(pushes[CITY].loc[pushes[CITY]["recipient"] == "competent", "recipient_name"]) == {"测试市自然资源局"}
    assert pushes[COUNTY_A]["recipient"].tolist() == ["territory"] * 2 == pushes[A1]["recipient"].tolist()
    assert pushes[B1].empty
    assert counts["warnings"] == 2 and counts["pushes"] == 2 and counts["mean_hours_to_acknowledge"] is None
    # the notice names the place and the issue, no case and no person
    own = pushes[CITY][pushes[CITY]["warning_id"] == row["id"]]
    content = warning_notice_docx(row.to_dict(), own.to_dict("records"), city_name="测试市")
    import io

    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    table = "\n".join(c.text for t in Document(io.BytesIO(content)).tables for r in t.rows for c in r.cells)
    assert "甲区东门街道自然资源类信访近 7 日登记 8 件" in text and "测试市自然资源局" in table
    assert "S0" not in text + table and "测试人" not in text + table


# ------------------------------------------------------------------ the page


def test_the_page_raises_acknowledges_and_acts(app_env):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from tests.signin import as_user

    app = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
    engine = db.make_engine(app_env)
    day = fixture_city.TODAY
    with engine.begin() as conn:
        conn.execute(cases.insert(), [fixture_city._case(f"S{i:02d}", day - dt.timedelta(days=i % 7), "online", A1,
                                                         "land", 1) for i in range(8)])
    bureau = as_user(AppTest.from_file(app, default_timeout=60), "bureau")
    bureau.run()
    bureau.switch_page("pages/warnings.py").run()
    assert not bureau.exception, [e.value for e in bureau.exception]
    bureau.button(key="warn_raise").click().run()
    assert not bureau.exception, [e.value for e in bureau.exception]
    assert any("本次新发布 2 条" in s.value for s in bureau.success)
    town = as_user(AppTest.from_file(app, default_timeout=60), "town_a1")
    town.run()
    town.switch_page("pages/warnings.py").run()
    assert not town.exception, [e.value for e in town.exception]
    assert all(b.key != "warn_raise" for b in town.button)  # only the bureau raises
    markdown = " ".join(m.value for m in town.markdown)
    assert "东门街道" in markdown and "自然资源" in markdown
    town.button(key="push_ack").click().run()
    assert not town.exception, [e.value for e in town.exception]
    town.text_area(key="push_note").input("已组织专班入户走访")
    town.button(key="push_act").click().run()
    assert not town.exception, [e.value for e in town.exception]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(warning_deliveries.c.acknowledged_by, warning_deliveries.c.action_note)
                            .where(warning_deliveries.c.recipient == "territory")
                            .order_by(warning_deliveries.c.id)).all()
    engine.dispose()
    assert any(r.acknowledged_by is not None for r in rows)
    assert any(r.action_note == "已组织专班入户走访" for r in rows)
