"""Issue 5: stratified and weighted draws, commit-reveal, verification, redraws,
agenda export, meeting outcomes and follow-ups."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections import Counter

import openpyxl
import pytest
import sqlalchemy as sa
from scipy.stats import chisquare

from dashboard.agenda import agenda_excel, agenda_html
from dashboard.cli import main
from dashboard.draws import (
    Candidate,
    DrawError,
    DrawSpec,
    meeting_seed,
    record_draw,
    select,
    verify_draw,
)
from dashboard.meetings import create_meeting, record_outcome
from dashboard.models import spot_check_candidates, spot_check_draw_cases, spot_check_draws
from queries.filters import Filters, scope_for
from queries.meetings import agenda, follow_ups, notify_list, outcomes
from queries.spot_check import CandidateOptions, candidate_frame, draw_candidates
from tests.fixture_city import TODAY

POOL = [Candidate(i, f"YX2025-{county}-{i:06d}", f"9901{county}")
        for i, county in enumerate(["02"] * 12 + ["21"] * 5 + ["22"] * 2 + ["23"], start=1)]


def _by_county(drawn):
    return dict(Counter(c.county_code for c in drawn))


@pytest.mark.parametrize("n,k,expected", [
    # 1 each, then 4 more in proportion to 11/4/1/0 remaining: 2.75, 1.0, 0.25 -> 2+1, 1, 0
    (8, 1, {"990102": 4, "990121": 2, "990122": 1, "990123": 1}),
    # 2 each (1 for the county with one case), then 1 more in proportion to 10/3/0/0
    (8, 2, {"990102": 3, "990121": 2, "990122": 2, "990123": 1}),
    (4, 1, {"990102": 1, "990121": 1, "990122": 1, "990123": 1}),
    (20, 1, {"990102": 12, "990121": 5, "990122": 2, "990123": 1}),
])
def test_stratified_allocation(n, k, expected):
    for seed in ("a", "b", "c", "d"):
        drawn = select(POOL, n, seed, spec=DrawSpec(n=n, method="stratified", min_per_county=k))
        assert _by_county(drawn) == expected
        assert len({c.case_no for c in drawn}) == n


def test_stratified_with_fewer_places_than_counties():
    for seed in map(str, range(50)):
        drawn = select(POOL, 2, seed, spec=DrawSpec(n=2, method="stratified"))
        assert len({c.county_code for c in drawn}) == 2


def test_stratified_is_uniform_within_a_county():
    counts = Counter()
    for seed in range(2400):
        for c in select(POOL, 4, f"s{seed}", spec=DrawSpec(n=4, method="stratified")):
            if c.county_code == "990102":
                counts[c.case_no] += 1
    observed = [counts[c.case_no] for c in POOL if c.county_code == "990102"]
    assert sum(observed) == 2400 and chisquare(observed).pvalue > 0.001


def test_weighted_first_pick_is_proportional_to_weight():
    pool = [Candidate(i, f"C{i}", "990102", float(w)) for i, w in enumerate([1, 2, 3, 4], start=1)]
    counts = Counter(select(pool, 1, f"w{seed}", spec=DrawSpec(n=1, method="weighted"))[0].case_no
                     for seed in range(5000))
    observed = [counts[f"C{i}"] for i in range(1, 5)]
    expected = [500, 1000, 1500, 2000]  # 5000 × w / 10
    assert chisquare(observed, expected).pvalue > 0.001, observed


def test_weighted_draw_is_reproducible_and_follows_the_formula():
    import math

    pool = [Candidate(i, f"C{i}", "990102", float(1 + i % 3)) for i in range(1, 30)]
    spec = DrawSpec(n=5, method="weighted")
    drawn = select(pool, 5, "seed-1", spec=spec)
    assert drawn == select(list(reversed(pool)), 5, "seed-1", spec=spec)

    def score(c):  # recomputed from the documented formula with hashlib
        u = (int(hashlib.sha256(f"seed-1|{c.case_no}".encode()).hexdigest(), 16) + 0.5) / 2**256
        return -math.log(u) / c.weight

    assert [c.case_no for c in drawn] == [c.case_no for c in sorted(pool, key=score)[:5]]


def test_bad_specs_are_refused():
    with pytest.raises(DrawError):
        DrawSpec(n=3, method="lottery")
    with pytest.raises(DrawError):
        DrawSpec(n=0)


@pytest.fixture
def city(writable_city):
    return writable_city[1]


def _draw(engine, n=2, seed="7", method="simple", **kwargs):
    with engine.begin() as conn:
        scope = scope_for(conn)
        candidates = draw_candidates(conn, scope, Filters(), TODAY)
        return record_draw(conn, candidates, n, seed=seed, spec=DrawSpec(n=n, method=method),
                           created_by="督查室", scope_code=scope.region_code, **kwargs)


def test_commit_reveal(city):
    with city.begin() as conn:
        meeting_id, digest = create_meeting(conn, title="六月抽查会", scheduled_at=dt.datetime(2026, 6, 30, 14, 30),
                                            scope_code="880100", created_by="督查室")
        seed, committed = meeting_seed(conn, meeting_id)
    assert committed == digest == hashlib.sha256(seed.encode()).hexdigest()
    draw_id, used, _ = _draw(city, seed=seed, meeting_id=meeting_id)
    assert used == seed
    with city.connect() as conn:
        checks = {c["check"]: c["ok"] for c in verify_draw(conn, draw_id).checks}
    assert checks == {"candidates": True, "drawn": True, "commitment": True, "record": True}


@pytest.mark.parametrize("tamper,failing", [
    (lambda conn, d: conn.execute(spot_check_draw_cases.update().where(
        spot_check_draw_cases.c.draw_id == d, spot_check_draw_cases.c.position == 1).values(case_no="B99")), "drawn"),
    (lambda conn, d: conn.execute(spot_check_candidates.update().where(
        spot_check_candidates.c.draw_id == d, spot_check_candidates.c.case_no == "B05").values(case_no="B98")),
     "candidates"),
    (lambda conn, d: conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == d).values(seed="8")),
     "commitment"),
])
def test_verify_detects_tampering(city, tamper, failing):
    with city.begin() as conn:
        meeting_id, _ = create_meeting(conn, title="会", scheduled_at=dt.datetime(2026, 6, 30, 14),
                                       scope_code="880100", created_by="x")
        seed, _ = meeting_seed(conn, meeting_id)
    draw_id, _, _ = _draw(city, seed=seed, meeting_id=meeting_id)
    with city.connect() as conn:
        assert verify_draw(conn, draw_id).ok
    with city.begin() as conn:
        tamper(conn, draw_id)
    with city.connect() as conn:
        result = verify_draw(conn, draw_id)
    assert not result.ok
    assert {c["check"]: c["ok"] for c in result.checks}[failing] is False


def test_redraw_keeps_both_records(city):
    first, _, _ = _draw(city, seed="1")
    with pytest.raises(DrawError, match="理由"):
        _draw(city, seed="2", replaces_draw_id=first)
    second, _, _ = _draw(city, seed="2", replaces_draw_id=first, redraw_reason="候选清单漏了乙县")
    with city.connect() as conn:
        rows = conn.execute(sa.select(spot_check_draws.c.id, spot_check_draws.c.replaces_draw_id,
                                      spot_check_draws.c.redraw_reason).order_by(spot_check_draws.c.id)).all()
        assert verify_draw(conn, first).ok and verify_draw(conn, second).ok
    assert [tuple(r) for r in rows] == [(first, None, None), (second, first, "候选清单漏了乙县")]


def test_exclude_cases_drawn_in_last_meetings(city):
    _draw(city, n=1, seed="x")
    with city.connect() as conn:
        scope = scope_for(conn)
        drawn = conn.execute(sa.select(spot_check_draw_cases.c.case_no)).scalars().all()
        left = candidate_frame(conn, scope, Filters(), TODAY, CandidateOptions(exclude_last=1))
        everything = candidate_frame(conn, scope, Filters(), TODAY)
    assert len(everything) == 3 and len(left) == 2 and drawn[0] not in set(left["case_no"])


def test_candidate_filters_and_weights(city):
    with city.connect() as conn:
        scope = scope_for(conn)
        red = candidate_frame(conn, scope, Filters(), TODAY, CandidateOptions(colors=("red",)))
        national = candidate_frame(conn, scope, Filters(), TODAY, CandidateOptions(sources=("national",)))
        old = candidate_frame(conn, scope, Filters(), TODAY, CandidateOptions(min_days_open=365))
        frame = candidate_frame(conn, scope, Filters(), TODAY).set_index("case_no")
    assert red["case_no"].tolist() == ["B02"] and national["case_no"].tolist() == ["B01"]
    assert old["case_no"].tolist() == ["B01", "B02"]  # 486 and 394 days open; B05 only 60
    # B01 registered 2025-03-01: 486 days open -> 1 full year -> weight 2; B05: 60 days -> 1
    assert (frame.loc["B01", "weight_age"], frame.loc["B05", "weight_age"]) == (2.0, 1.0)
    assert (frame.loc["B02", "weight_color"], frame.loc["B01", "weight_color"]) == (3.0, 1.0)


def test_agenda_export_and_notify_list(city):
    draw_id, _, drawn = _draw(city, n=3, seed="agenda")
    with city.connect() as conn:
        scope = scope_for(conn)
        frame = agenda(conn, scope, draw_id, TODAY)
        notify = notify_list(conn, scope, draw_id, TODAY)
    workbook = openpyxl.load_workbook(io.BytesIO(agenda_excel(frame, "六月督查会议程")))
    sheet = workbook.active
    assert sheet.cell(row=1, column=1).value == "六月督查会议程"
    headers = [c.value for c in sheet[3]]
    numbers = [row[headers.index("信访件编号")] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert numbers == [c.case_no for c in drawn] and sorted(numbers) == ["B01", "B02", "B05"]
    assert "包案领导" in headers and "汇报要点" in headers
    page = agenda_html(frame, "六月督查会议程", "共 3 件")
    assert page.count("<section>") == 3 and "size: A4" in page and "http" not in page
    assert set(notify["leader_name"]) == {"赵一", "钱二"}
    assert notify.set_index("leader_name").loc["赵一", "cases"].count("B0") == 2


def test_outcomes_and_follow_ups(city):
    draw_id, _, _ = _draw(city, n=3, seed="o")
    with city.begin() as conn:
        with pytest.raises(DrawError, match="不在抽查记录"):
            record_outcome(conn, draw_id=draw_id, case_no="C01", leader_report="x", comment=None,
                           rating="satisfactory", follow_up_due=None, recorded_by="x")
        record_outcome(conn, draw_id=draw_id, case_no="B02", leader_report="已约谈", comment="进度慢",
                       rating="needs_work", follow_up_due=dt.date(2026, 7, 15), recorded_by="督查室")
    with city.connect() as conn:
        scope = scope_for(conn)
        pending = follow_ups(conn, scope, Filters(date_to=TODAY))
        notes = outcomes(conn, scope, draw_id=draw_id)
    assert pending[["case_no", "rating", "follow_up_days_left"]].values.tolist() == [["B02", "needs_work", 15]]
    assert notes["leader_report"].tolist() == ["已约谈"]


def test_cli_meeting_draw_verify_agenda(city, writable_city, capsys, monkeypatch, tmp_path):
    url, _ = writable_city
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DASHBOARD_TODAY", "2026-06-30")
    assert main(["meeting", "create", "--title", "七月抽查会", "--at", "2026-07-01 14:30", "--json"]) == 0
    meeting = json.loads(capsys.readouterr().out)
    assert len(meeting["seed_commitment"]) == 64
    assert main(["draw", "--n", "2", "--meeting", str(meeting["meeting_id"]), "--method", "stratified", "--json"]) == 0
    drawn = json.loads(capsys.readouterr().out)
    assert hashlib.sha256(drawn["seed"].encode()).hexdigest() == meeting["seed_commitment"]
    assert {"draw_id", "seed", "cases"} <= set(drawn) and len(drawn["cases"]) == 2
    assert main(["verify-draw", str(drawn["draw_id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["draw", "--n", "1", "--method", "weighted", "--weight-by", "color", "--exclude-last", "1",
                 "--json"]) == 0
    weighted = json.loads(capsys.readouterr().out)
    assert weighted["candidate_count"] == 1  # two of three were drawn at the last meeting
    xlsx = tmp_path / "agenda.xlsx"
    assert main(["agenda", str(drawn["draw_id"]), "--xlsx", str(xlsx), "--html", str(tmp_path / "a.html")]) == 0
    assert openpyxl.load_workbook(xlsx).active.max_row == 5
    with sa.create_engine(url).begin() as conn:
        conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == drawn["draw_id"]).values(seed="x"))
    assert main(["verify-draw", str(drawn["draw_id"])]) == 1
    assert "核验未通过" in capsys.readouterr().out


def test_exports_neutralise_formulas():
    from dashboard.exports import neutralise

    assert [neutralise(v) for v in ("=1+1", "+86", "-3", "@SUM(A1)", "正常", 5)] == [
        "'=1+1", "'+86", "'-3", "'@SUM(A1)", "正常", 5]
