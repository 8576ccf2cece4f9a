"""Spot-check draws: reproducible, checkable with plain SHA-256, uniform, stored."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
import sqlalchemy as sa
from scipy.stats import chisquare

from dashboard.draws import Candidate, DrawError, fingerprint, record_draw, select
from dashboard.models import spot_check_candidates, spot_check_draws
from queries.filters import Filters, scope_for
from queries.spot_check import draw_candidates, draw_history, drawn_cases
from tests.fixture_city import TODAY

POOL = [Candidate(i, f"YX2025-{county}-{i:06d}", f"9901{county}")
        for i, county in enumerate(["02"] * 12 + ["21"] * 5 + ["22"] * 2 + ["23"], start=1)]


def test_same_seed_same_candidates_same_draw():
    first = select(POOL, 5, "meeting-2026-11")
    assert select(list(reversed(POOL)), 5, "meeting-2026-11") == first
    assert select(POOL, 5, "another seed") != first


def test_draw_order_is_plain_sha256_ranking():
    seed = "123456789012"
    # Recomputed with hashlib directly, as anyone checking a draw would.
    keys = sorted((hashlib.sha256(f"{seed}|{c.case_no}".encode()).hexdigest(), c.case_no) for c in POOL)
    assert [c.case_no for c in select(POOL, 4, seed)] == [no for _, no in keys[:4]]


def test_per_county_covers_every_county():
    counties = {c.county_code for c in POOL}
    for seed in map(str, range(200)):
        drawn = select(POOL, 4, seed, per_county=True)
        assert {c.county_code for c in drawn} == counties
        assert len({c.case_no for c in drawn}) == 4
    drawn = select(POOL, 7, "x", per_county=True)
    assert len(drawn) == 7 and {c.county_code for c in drawn} == counties
    # Fewer places than counties: no county twice.
    assert len({c.county_code for c in select(POOL, 2, "x", per_county=True)}) == 2


def test_n_larger_than_candidates_takes_all_and_n_below_one_refused():
    assert len(select(POOL, 50, "s")) == len(POOL)
    with pytest.raises(DrawError):
        select(POOL, 0, "s")


def test_every_candidate_equally_likely():
    """Chi-square goodness of fit over a fixed seed list: 4,000 draws of 2 from 20."""
    counts = Counter(c.case_no for seed in range(4000) for c in select(POOL, 2, f"seed-{seed}"))
    observed = [counts[c.case_no] for c in POOL]
    assert sum(observed) == 8000
    statistic, p_value = chisquare(observed)  # expected 400 each
    assert p_value > 0.001, (statistic, observed)


def test_per_county_first_pick_uniform_within_county():
    """With one per county, each case of the 12-case county is its pick equally often."""
    counts = Counter()
    for seed in range(2400):
        for c in select(POOL, 4, f"s{seed}", per_county=True):
            if c.county_code == "990102":
                counts[c.case_no] += 1
    observed = [counts[c.case_no] for c in POOL if c.county_code == "990102"]
    assert sum(observed) == 2400
    assert chisquare(observed).pvalue > 0.001


def test_fingerprint_is_sha256_of_sorted_numbers():
    expected = hashlib.sha256(b"A-1\nB-2\nC-3").hexdigest()
    assert fingerprint(["C-3", "A-1", "B-2"]) == expected


def test_record_and_reopen(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        city = scope_for(conn)
        candidates = draw_candidates(conn, city, Filters(), TODAY)
        draw_id, seed, drawn = record_draw(
            conn, candidates, 2, seed="42", per_county=True, created_by="督查室",
            scope_code=city.region_code, meeting="六月抽查会", params={"n": 2},
        )
    assert seed == "42"
    # Candidates B01 B02 (甲区) and B05 (乙县); one per county means B05 is always in.
    assert "B05" in [c.case_no for c in drawn] and len(drawn) == 2
    with engine.connect() as conn:
        reopened = drawn_cases(conn, city, draw_id, TODAY)
        history = draw_history(conn, city)
        stored = conn.execute(sa.select(spot_check_draws)).one()
        stored_candidates = conn.execute(
            sa.select(spot_check_candidates.c.case_no).order_by(spot_check_candidates.c.case_no)
        ).scalars().all()
    assert reopened["case_no"].tolist() == [c.case_no for c in drawn]
    assert reopened["position"].tolist() == [1, 2]
    assert history["draw_id"].tolist() == [draw_id]
    assert history.loc[0, "n_drawn"] == 2
    assert history.loc[0, "params"] == {"n": 2, "method": "per_county", "min_per_county": 1, "weight_by": None}
    assert stored.candidate_count == 3 and stored.method == "per_county"
    assert stored.candidate_fingerprint == hashlib.sha256(b"B01\nB02\nB05").hexdigest()
    assert stored_candidates == ["B01", "B02", "B05"]
    assert json.loads(stored.params)["n"] == 2
    # Another county's scope does not see the draw.
    with engine.connect() as conn:
        other = scope_for(conn, "880121")
        assert drawn_cases(conn, other, draw_id, TODAY).empty


def test_no_candidates_stores_nothing(writable_city):
    _, engine = writable_city
    with pytest.raises(DrawError, match="没有符合条件"):
        with engine.begin() as conn:
            record_draw(conn, [], 3, created_by="x", scope_code="880100")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(spot_check_draws)).scalar() == 0
