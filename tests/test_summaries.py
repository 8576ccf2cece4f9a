"""The summary tables stay equal to the cases: after random ledger imports (new cases and
edits), extensions, rule changes and color-rule changes, every summary figure equals the
same figure counted here from the raw cases with pandas, on SQLite and PostgreSQL; the
stored colors equal the one color rule applied to every case; the indicators of periods
that cut months in two (summary months plus days counted from the cases) equal pandas
counts of the raw cases."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard import actions, auth, db, deadlines, rules, summaries
from dashboard.ledger import read_table
from dashboard.models import case_colors, case_summaries, cases
from dashboard.workdays import HolidayRow
from entrypoints.bench import ledger_csv
from queries.backlog import backlog_by_township, backlog_monthly, backlog_township_month
from queries.filters import Filters, scope_for
from queries.kpi import indicators
from tests import fixture_city
from tests.conftest import drop_database, throwaway_database
from tests.fixture_city import COUNTY_A, COUNTY_B, TODAY

D = dt.date
MEASURES = summaries.MEASURES


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DASHBOARD_TODAY", TODAY.isoformat())
    url, drop = throwaway_database(request.param, tmp_path_factory, "summaries")
    engine = db.make_engine(url)
    fixture_city.build(engine)
    yield engine
    engine.dispose()
    drop_database(drop)


def _cases(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = db.read_frame(conn, sa.select(cases))
    for column in ("registered_on", "accepted_on", "acceptance_due", "handling_due", "closed_on", "resolved_on"):
        frame[column] = pd.to_datetime(frame[column])
    frame["is_backlog"] = frame["is_backlog"].fillna(False).astype(bool)
    return frame


def _expected_summaries(frame: pd.DataFrame) -> dict[tuple, dict]:
    """Every summary figure counted from the raw cases, independently of the code."""
    out: dict[tuple, dict] = {}
    collective = (frame["channel"] == "visit") & (frame["persons"] >= 5)  # 集体访: visits of five or more

    def add(date_column, rows, values):
        part = frame[rows]
        months = part[date_column].dt.year * 100 + part[date_column].dt.month
        for index, month in months.items():
            row = part.loc[index]
            key = (int(month), row["county_code"], row["township_code"] or "", row["domain"], row["channel"])
            figures = out.setdefault(key, dict.fromkeys(MEASURES, 0))
            for name, value in values(row, index).items():
                figures[name] += int(value)

    add("registered_on", frame["registered_on"].notna(), lambda r, i: {
        "received": 1, "online": r["channel"] == "online",
        "collective_batches": collective[i], "collective_persons": r["persons"] if collective[i] else 0,
        "province_batches": r["escalation"] == "province",
        "province_persons": r["persons"] if r["escalation"] == "province" else 0,
        "beijing_batches": r["escalation"] == "beijing",
        "beijing_persons": r["persons"] if r["escalation"] == "beijing" else 0,
        "backlog_registered": r["is_backlog"]})
    add("accepted_on", frame["accepted_on"].notna(), lambda r, i: {
        "accepted": 1, "timely": pd.notna(r["acceptance_due"]) and r["accepted_on"] <= r["acceptance_due"]})
    add("closed_on", frame["closed_on"].notna(), lambda r, i: {
        "closed": 1, "on_time": pd.notna(r["handling_due"]) and r["closed_on"] <= r["handling_due"],
        "evaluated": pd.notna(r["satisfaction"]), "satisfied": r["satisfaction"] in ("satisfied", "basic")})
    add("resolved_on", frame["is_backlog"] & frame["resolved_on"].notna(), lambda r, i: {"backlog_resolved": 1})
    # rollup rows ("*"): all domains, all channels, both
    rolled: dict[tuple, dict] = {}
    for (month, county, town, domain, channel), figures in out.items():
        for key in ((month, county, town, "*", channel), (month, county, town, domain, "*"),
                    (month, county, town, "*", "*")):
            total = rolled.setdefault(key, dict.fromkeys(MEASURES, 0))
            for name, value in figures.items():
                total[name] += value
    return {**out, **rolled}


def _stored_summaries(engine) -> dict[tuple, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(case_summaries)).mappings().all()
    stored = {}
    for row in rows:
        figures = {m: int(row[m]) for m in MEASURES}
        if any(figures.values()):  # rows whose cases all moved away stay at zero
            stored[tuple(row[k] for k in summaries.KEYS)] = figures
    return stored


def _check(engine, with_indicators: bool = True) -> None:
    frame = _cases(engine)
    expected = _expected_summaries(frame)
    stored = _stored_summaries(engine)
    assert set(stored) == set(expected)
    for key, figures in expected.items():
        assert stored[key] == figures, key
    # the stored flag follows the rule too
    assert (frame["is_collective"].astype(bool) == ((frame["channel"] == "visit") & (frame["persons"] >= 5))).all()
    # colors: the one rule applied to every case on the stored date
    with engine.connect() as conn:
        as_of = summaries.colors_as_of(conn)
        book = rules.load_rules(conn)
        stored_colors = {row.case_id: (row.color, row.stage, row.deadline, row.days_left)
                         for row in conn.execute(sa.select(case_colors))}
    colored = rules.assign_colors(frame, as_of, book)
    colored = colored[colored["color"].notna()]
    assert stored_colors == {
        int(r.id): (r.color, r.stage, r.deadline, None if pd.isna(r.days_left) else int(r.days_left))
        for r in colored.itertuples()}
    if not with_indicators:
        return
    # indicators over periods cutting months in two, city and county scope, some filters
    for start, end in ((D(2026, 2, 15), TODAY), (D(2025, 11, 3), D(2026, 5, 20))):
        with engine.connect() as conn:
            for region, domains, channels in ((None, (), ()), (COUNTY_B, ("labor", "land"), ()),
                                              (None, ("labor",), ("visit", "online"))):
                scope = scope_for(conn, region)
                result = indicators(conn, scope, Filters(start, end, domains=domains, channels=channels))
                selected = frame[(frame["domain"].isin(domains) if domains else frame["domain"].notna())
                                 & (frame["channel"].isin(channels) if channels else frame["channel"].notna())]
                _check_indicators(result, selected, start, end, region, colored if end == as_of else None)
                _check_backlog_months(backlog_monthly(conn, scope, Filters(start, end, domains=domains,
                                                                           channels=channels)),
                                      selected if region is None else selected[selected["county_code"] == region],
                                      start, end)
                _check_township_months(
                    backlog_township_month(conn, scope, Filters(start, end, domains=domains, channels=channels)),
                    selected if region is None else selected[selected["county_code"] == region], start, end)
                _check_townships(
                    backlog_by_township(conn, scope, Filters(start, end, domains=domains, channels=channels)),
                    selected if region is None else selected[selected["county_code"] == region], end)


def _check_townships(result, frame, end) -> None:
    """Backlog registered and resolved by the period end per township, from the raw cases."""
    backlog = frame[frame["is_backlog"] & (frame["registered_on"] <= pd.Timestamp(end))]
    resolved = backlog[backlog["resolved_on"] <= pd.Timestamp(end)]
    got = result.set_index("township_code")
    for town in got.index:
        assert got.loc[town, "backlog_total"] == int((backlog["township_code"] == town).sum()), town
        assert got.loc[town, "backlog_resolved"] == int((resolved["township_code"] == town).sum()), town


def _check_township_months(result, frame, start, end) -> None:
    """Unresolved backlog per township at each month end, counted from the raw cases."""
    backlog = frame[frame["is_backlog"] & (frame["registered_on"] <= pd.Timestamp(end))]
    months = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS")
    expected = {}
    for month in months:
        month_end = min(month + pd.offsets.MonthEnd(0), pd.Timestamp(end))
        still_open = backlog[(backlog["registered_on"] <= month_end) & ~(backlog["resolved_on"] <= month_end)]
        for town, count in still_open.groupby("township_code").size().items():
            expected[(town, month.strftime("%Y-%m"))] = int(count)
    got = {(r.township_code, r.month): r.unresolved for r in result.itertuples() if r.unresolved}
    assert got == expected
    assert len(result) == result["township_code"].nunique() * len(months)


def _check_backlog_months(result, frame, start, end) -> None:
    backlog = frame[frame["is_backlog"] & (frame["registered_on"] <= pd.Timestamp(end))]
    expected = []
    for month in pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS"):
        month_end = min(month + pd.offsets.MonthEnd(0), pd.Timestamp(end))
        expected.append({
            "month": month.strftime("%Y-%m"),
            "opened": int(backlog["registered_on"].between(month, month_end).sum()),
            "resolved": int(backlog["resolved_on"].between(month, month_end).sum()),
            "remaining": int(((backlog["registered_on"] <= month_end)
                              & ~(backlog["resolved_on"] <= month_end)).sum()),
        })
    assert result.to_dict("records") == expected


def _check_indicators(result, frame, start, end, region, colored) -> None:
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if colored is not None:
        colored = colored[colored["id"].isin(frame["id"])]
    if region:
        frame = frame[frame["county_code"] == region]
        colored = None if colored is None else colored[colored["county_code"] == region]
    received = frame[frame["registered_on"].between(start, end)]
    collective = received[(received["channel"] == "visit") & (received["persons"] >= 5)]
    accepted = frame[frame["accepted_on"].between(start, end)]
    closed = frame[frame["closed_on"].between(start, end)]
    backlog = frame[frame["is_backlog"] & (frame["registered_on"] <= end)]
    assert result["total"] == len(received)
    assert result["online_share"] == (pytest.approx((received["channel"] == "online").mean()) if len(received)
                                      else None)
    assert (result["collective_batches"], result["collective_persons"]) == (len(collective),
                                                                            int(collective["persons"].sum()))
    timely = (accepted["accepted_on"] <= accepted["acceptance_due"]).sum()
    assert result["timely_acceptance_rate"] == (pytest.approx(timely / len(accepted)) if len(accepted) else None)
    on_time = (closed["closed_on"] <= closed["handling_due"]).sum()
    assert result["on_time_closure_rate"] == (pytest.approx(on_time / len(closed)) if len(closed) else None)
    assert result["backlog_total"] == len(backlog)
    assert result["backlog_resolved"] == int((backlog["resolved_on"] <= end).sum())
    if colored is not None:
        counts = colored["color"].value_counts()
        assert result["colors"] == {c: int(counts.get(c, 0)) for c in ("red", "yellow", "green")}


def _import(engine, actor, prefix: str, rows: int, seed: int):
    with engine.connect() as conn:
        data = ledger_csv(conn, rows, prefix=prefix, seed=seed)
    return actions.import_ledger(engine, actor, read_table(data, "random.csv"), file_name="random.csv")


def test_summaries_equal_the_raw_counts_after_random_writes(engine):
    with engine.connect() as conn:
        actor = auth.actor_for(conn, auth.get_user(conn, "bureau"), "cli")
    _check(engine)  # as built
    rng = random.Random(13)
    for step in range(6):
        operation = step % 6
        if operation in (0, 3):  # new cases, then the same numbers again with other contents (edits)
            result = _import(engine, actor, f"R{step}-", 40, seed=step)
            assert (result.new, len(result.rejected)) == (40, 0)  # the bench's ledger is valid to the day
            again = _import(engine, actor, f"R{step}-", 40, seed=step + 100)
            assert again.updated > 0
        elif operation == 1:  # extensions of open cases still in time
            with engine.begin() as conn:
                open_ones = conn.execute(sa.select(cases.c.case_no).where(
                    cases.c.closed_on.is_(None), cases.c.accepted_on.is_not(None), cases.c.extension_days == 0,
                    cases.c.handling_due >= TODAY, cases.c.preset == "national")).scalars().all()
                for case_no in rng.sample(open_ones, min(3, len(open_ones))):
                    deadlines.extend(conn, case_no, rng.randint(1, 30), reason="鉴定", approver="局长", on=TODAY)
        elif operation == 2:  # a county changes its rule from a date: deadlines move
            with engine.begin() as conn:
                assert deadlines.assign_preset(conn, COUNTY_A, "tongling-210", effective_from=D(2025, 1, 1)) > 0
        elif operation == 4:  # a preset's limit edited, a color rule changed
            with engine.begin() as conn:
                deadlines.edit_preset(conn, "tongling-210", "handling", days=15)
                rules.save_rule(conn, COUNTY_B, rules.ColorRule(yellow_days_left=12, yellow_used_share=0.5), by="t")
        else:  # holidays imported: deadlines counted in working days move
            with engine.begin() as conn:
                deadlines.import_schedule(conn, [HolidayRow(D(2026, 5, 4), "holiday", "调休"),
                                                 HolidayRow(D(2026, 5, 9), "workday", "调休")])
        _check(engine, with_indicators=operation == 3)
    # and a rebuild from scratch gives the same tables
    with engine.begin() as conn:
        summaries.rebuild(conn, as_of=TODAY)
    _check(engine)


def test_a_collective_visit_is_a_visit_of_five_or_more(engine):
    """Letters and online cases with five names are not collective visits."""
    header = ["信访件编号", "登记日期", "信访形式", "人数", "所属县区", "所属乡镇", "问题类别"]
    rows = [["集体访台账"], header,
            ["K1", "2026-03-02", "来访", "6", "甲区", "东门街道", "劳动保障"],
            ["K2", "2026-03-03", "来信", "7", "甲区", "东门街道", "劳动保障"],
            ["K3", "2026-03-04", "网上信访", "5", "乙县", "南山镇", "劳动保障"],
            ["K4", "2026-03-05", "来访", "4", "乙县", "南山镇", "劳动保障"]]
    with engine.connect() as conn:
        actor = auth.actor_for(conn, auth.get_user(conn, "bureau"), "cli")
    assert actions.import_ledger(engine, actor, rows, file_name="k.csv").new == 4
    with engine.connect() as conn:
        result = indicators(conn, scope_for(conn), Filters(D(2026, 3, 1), D(2026, 3, 31)))
    # March: K1 (6 persons) only; the fixture has no other March visit of five or more
    assert (result["collective_batches"], result["collective_persons"]) == (1, 6)
    with engine.connect() as conn:
        result = indicators(conn, scope_for(conn), Filters(D(2026, 1, 1), TODAY))
    # first half: C04 (a visit of 8) and K1 (6)
    assert (result["collective_batches"], result["collective_persons"]) == (2, 14)
    _check(engine)


def test_refresh_rebuilds_and_an_upgraded_database_has_its_summaries(tmp_path, monkeypatch, capsys):
    """A first-release database upgraded in place (migration 0004) gets summaries equal to
    its cases; `refresh` rebuilds them (the same figures) and reports what it did."""
    import json
    import shutil

    from entrypoints.cli import main
    from tests.test_migrations import FIRST_RELEASE

    path = tmp_path / "old.db"
    shutil.copy(FIRST_RELEASE, path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-11-20")
    assert main(["init", "--json"]) == 0
    capsys.readouterr()
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert summaries.colors_as_of(conn) == D(2026, 11, 20)
    _check(engine, with_indicators=False)
    with engine.begin() as conn:  # damage the summaries: refresh puts them right
        conn.execute(case_summaries.delete())
        conn.execute(case_colors.delete())
    assert main(["refresh", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["colors_as_of"] == "2026-11-20" and out["summary_rows"] > 0 and out["colored_cases"] > 0
    _check(engine, with_indicators=False)
    engine.dispose()
