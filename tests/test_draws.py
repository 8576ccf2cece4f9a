"""Spot-check draws: reproducible, checkable with plain SHA-256, uniform, stored."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from scipy.stats import chisquare

from dashboard.draws import (
    Candidate,
    DrawError,
    DrawSpec,
    draw_notes,
    fingerprint,
    new_seed,
    record_draw,
    redraw_seed,
    select,
)
from dashboard.models import spot_check_candidates, spot_check_draws
from queries.filters import Filters, scope_for
from queries.spot_check import draw_candidates, draw_history, drawn_cases
from tests.fixture_city import DRAW_POOL as POOL
from tests.fixture_city import TODAY


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
    assert history.loc[0, "params"] == {"n": 2, "method": "stratified", "min_per_county": 1, "weight_by": None}
    assert stored.candidate_count == 3 and stored.method == "stratified"
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


def test_generated_seeds_carry_128_bits():
    seeds = {new_seed() for _ in range(200)}
    assert len(seeds) == 200
    for seed in seeds:
        assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){7}", seed)
        assert len(seed.replace("-", "")) * 4 == 128


def test_redraw_seed_names_its_place_in_the_chain():
    assert redraw_seed("ab12-cd34", 0) == "ab12-cd34"
    assert redraw_seed("ab12-cd34", 2) == "ab12-cd34/重抽2"


# Six counties of six candidates each.
SIX = [Candidate(i, f"K{county}-{i:03d}", f"99010{county}") for county in range(1, 7)
       for i in range(county * 10, county * 10 + 6)]


def _seed_order(pool, seed):
    """Counties by their smallest SHA-256 key, recomputed with hashlib."""
    smallest = {}
    for c in pool:
        key = hashlib.sha256(f"{seed}|{c.case_no}".encode()).hexdigest()
        smallest[c.county_code] = min(smallest.get(c.county_code, key), key)
    return sorted(smallest, key=smallest.get)


def _stratified(pool, n, k, seed):
    return select(pool, n, seed, spec=DrawSpec(n=n, method="stratified", min_per_county=k))


@pytest.mark.parametrize("seed", ["s1", "s2", "s3", "meeting-2026-11"])
def test_too_few_places_for_the_minimum_are_spread_round_robin(seed):
    order = _seed_order(SIX, seed)
    # n=3, k=5: one place each for the first three counties of the seed order, not all
    # three from one county.
    drawn = _stratified(SIX, 3, 5, seed)
    assert Counter(c.county_code for c in drawn) == Counter(order[:3])
    # Each county's place goes to its smallest key.
    for c in drawn:
        own = [x for x in SIX if x.county_code == c.county_code]
        assert c.case_no == min(own, key=lambda x: hashlib.sha256(f"{seed}|{x.case_no}".encode()).hexdigest()).case_no
    # n=9, k=2 over six counties: 2 for the first three, 1 for the other three.
    counts = Counter(c.county_code for c in _stratified(SIX, 9, 2, seed))
    assert counts == Counter({**dict.fromkeys(order[:3], 2), **dict.fromkeys(order[3:], 1)})


def test_short_allocations_never_differ_by_more_than_one():
    for seed in map(str, range(60)):
        for n, k in ((5, 3), (7, 2), (11, 2), (2, 4)):
            counts = Counter(c.county_code for c in _stratified(SIX, n, k, seed))
            per_county = [counts.get(f"99010{i}", 0) for i in range(1, 7)]
            assert sum(per_county) == n and max(per_county) - min(per_county) <= 1


@pytest.mark.parametrize("n,k,expected", [
    # minimums 3/3/2/1 (the two small counties give all they have); 3 more in proportion
    # to 12 and 5 candidates (the open counties): 36/17 = 2.12, 15/17 = 0.88 -> 2 and 1.
    (12, 3, {"990102": 5, "990121": 4, "990122": 2, "990123": 1}),
    # 1 each, then 15 in proportion to 12/5/2: 990122's quota 1.58 exceeds its one
    # remaining case, so it takes it; 14 left over 12/5: 990121's 4.12 exceeds its 4;
    # the last 10 go to 990102.
    (19, 1, {"990102": 11, "990121": 5, "990122": 2, "990123": 1}),
    # k = 0: purely proportional to 12/5/2/1 of 20: 3.6, 1.5, 0.6, 0.3 -> 3+1, 1, 0+1, 0
    (6, 0, {"990102": 4, "990121": 1, "990122": 1}),
])
def test_remaining_places_are_proportional_to_candidates(n, k, expected):
    for seed in ("a", "b", "c"):
        drawn = _stratified(POOL, n, k, seed)
        assert dict(Counter(c.county_code for c in drawn)) == expected and len(drawn) == n


def test_equal_remainders_go_to_the_county_first_in_seed_order():
    pool = [Candidate(i, f"X{i}", "990101") for i in range(4)] + [Candidate(9 + i, f"Y{i}", "990102") for i in range(4)]
    for seed in map(str, range(20)):
        # 1 each, then one place for two equal quotas of 0.5.
        counts = Counter(c.county_code for c in _stratified(pool, 3, 1, seed))
        assert counts[_seed_order(pool, seed)[0]] == 2


def test_draw_notes_explain_shortages_in_chinese():
    names = {f"99010{i}": f"第{i}县" for i in range(1, 7)}
    seed = "s1"
    order = _seed_order(SIX, seed)
    notes = draw_notes(SIX, DrawSpec(n=3, method="stratified", min_per_county=5), seed, names)
    assert len(notes) == 1
    assert notes[0].startswith("抽取件数 3 件少于各县区保底件数之和 30 件（6 个县区各 5 件），无法保证每县区都达到保底：")
    assert "轮流分配，各县区相差不超过 1 件" in notes[0]
    short = draw_notes(POOL, DrawSpec(n=3, method="stratified", min_per_county=2), "x")
    assert "（每县区 2 件，候选不足 2 件的县区按实有件数）" in short[0]
    assert notes[0].endswith("未抽到的县区：" + "、".join(names[c] for c in order[3:]) + "。")
    small = {"990122": "丙县", "990123": "丁县"}
    notes = draw_notes(POOL, DrawSpec(n=12, method="stratified", min_per_county=3), "x", small)
    assert notes == ["丙县只有 2 件候选，少于每县区 3 件，已全部抽中。", "丁县只有 1 件候选，少于每县区 3 件，已全部抽中。"]
    assert draw_notes(POOL, DrawSpec(n=25), "x") == ["候选只有 20 件，少于抽取件数 25 件，已全部抽中。"]
    assert draw_notes(POOL, DrawSpec(n=5), "x") == []
