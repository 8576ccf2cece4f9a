"""Issue 5: stratified and weighted draws, commit-reveal, verification, redraws,
agenda export, meeting outcomes and follow-ups."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import threading
import time
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from scipy.stats import chisquare

from dashboard.agenda import agenda_excel, agenda_html
from dashboard.draws import (
    Candidate,
    DrawError,
    DrawSpec,
    SecretMismatch,
    record_draw,
    select,
    verify_draw,
)
from dashboard.meetings import create_meeting, draw_time, record_outcome, time_left
from dashboard.models import (
    meetings,
    spot_check_candidates,
    spot_check_draw_cases,
    spot_check_draws,
)
from entrypoints.cli import main
from queries.filters import Filters, scope_for
from queries.meetings import agenda, follow_ups, notify_list, outcomes
from queries.spot_check import CandidateOptions, candidate_frame, draw_candidates
from tests.fixture_city import DRAW_POOL as POOL
from tests.fixture_city import TODAY
from tests.signin import as_user


def _by_county(drawn):
    return dict(Counter(c.county_code for c in drawn))


@pytest.mark.parametrize("n,k,expected", [
    # 1 each, then 4 more in proportion to the candidates of the counties with some left
    # (12/5/2 of 19): 2.53, 1.05, 0.42 -> 2+1, 1, 0
    (8, 1, {"990102": 4, "990121": 2, "990122": 1, "990123": 1}),
    # 2 each (1 for the county with one case), then 1 more in proportion to 12/5 (the
    # counties with candidates left): 0.71, 0.29
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


FIXED_SEED = "aaaa-bbbb-cccc-dddd-eeee-ffff-0000-1111"


def _first_by_key(seed, numbers=("B01", "B02", "B05")):
    """The smallest SHA-256("<seed>|<case_no>"), computed with hashlib."""
    return min(numbers, key=lambda no: hashlib.sha256(f"{seed}|{no}".encode()).hexdigest())


def _meeting(engine, secret=FIXED_SEED, title="六月抽查会", when=dt.datetime(2026, 6, 30, 14, 30)):
    """A meeting committed to a known secret (the officer's, shown once in the product)."""
    with engine.begin() as conn:
        return create_meeting(conn, title=title, scheduled_at=when, scope_code="880100", created_by="督查室",
                              secret=secret)


def _secret_ranking(*first):
    """A secret under which the smallest SHA-256("<secret>|<case_no>") keys of B01, B02
    and B05 start with `first` (searched with hashlib)."""
    for i in range(10_000):
        digits = f"{i:032x}"
        secret = "-".join(digits[j:j + 4] for j in range(0, 32, 4))
        ranked = sorted(("B01", "B02", "B05"), key=lambda no: hashlib.sha256(f"{secret}|{no}".encode()).hexdigest())
        if tuple(ranked[: len(first)]) == first:
            return secret
    raise AssertionError(first)


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_commit_reveal(city):
    meeting_id, digest = _meeting(city)
    assert digest == hashlib.sha256(FIXED_SEED.encode()).hexdigest()
    with city.connect() as conn:
        assert conn.execute(sa.select(meetings.c.revealed_at)).scalar() is None
    draw_id, used, _ = _draw(city, seed=None, meeting_id=meeting_id, secret=FIXED_SEED.upper().replace("-", " "))
    assert used == FIXED_SEED and hashlib.sha256(used.encode()).hexdigest() == digest
    with city.connect() as conn:
        assert conn.execute(sa.select(meetings.c.revealed_at)).scalar() is not None
        checks = {c["check"]: c["ok"] for c in verify_draw(conn, draw_id).checks}
    assert checks == {"candidates": True, "drawn": True, "cases": True, "commitment": True, "record": True,
                      "outcomes": True, "chain": True}


def test_redraws_of_a_committed_meeting_use_chained_seeds(city):
    meeting_id, _ = _meeting(city, FIXED_SEED)
    # Worked out with hashlib: B01 first under the seed, B05 under "/重抽1", B02 under "/重抽2".
    assert [_first_by_key(FIXED_SEED + s) for s in ("", "/重抽1", "/重抽2")] == ["B01", "B05", "B02"]
    first, seed, drawn = _draw(city, n=1, seed=None, meeting_id=meeting_id, secret=FIXED_SEED)
    assert (seed, [c.case_no for c in drawn]) == (FIXED_SEED, ["B01"])
    with pytest.raises(DrawError, match=f"已有抽查记录 #{first}.*请替换 #{first}"):
        _draw(city, n=1, seed=None, meeting_id=meeting_id, secret=FIXED_SEED)
    # The redraw belongs to the meeting of the draw it replaces (no meeting given).
    second, seed, drawn = _draw(city, n=1, seed=None, replaces_draw_id=first, redraw_reason="候选清单漏了乙县")
    assert (seed, [c.case_no for c in drawn]) == (FIXED_SEED + "/重抽1", ["B05"])
    with pytest.raises(DrawError, match=f"#{first} 已被 #{second} 替换.*请替换当前记录 #{second}"):
        _draw(city, n=1, seed=None, replaces_draw_id=first, redraw_reason="再换")
    third, seed, drawn = _draw(city, n=1, seed=None, replaces_draw_id=second, redraw_reason="再换")
    assert (seed, [c.case_no for c in drawn]) == (FIXED_SEED + "/重抽2", ["B02"])
    with city.connect() as conn:
        stored = conn.execute(sa.select(spot_check_draws.c.id, spot_check_draws.c.meeting_id)
                              .order_by(spot_check_draws.c.id)).all()
        results = [verify_draw(conn, d) for d in (first, second, third)]
    assert [tuple(r) for r in stored] == [(first, meeting_id), (second, meeting_id), (third, meeting_id)]
    assert all(r.ok for r in results)
    assert "第 2 次重新抽取" in next(c["detail"] for c in results[2].checks if c["check"] == "commitment")
    # A redraw whose seed is the committed seed itself (not its chained one) fails the check.
    with city.begin() as conn:
        conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == third).values(seed=FIXED_SEED))
    with city.connect() as conn:
        checks = {c["check"]: c["ok"] for c in verify_draw(conn, third).checks}
    assert checks["commitment"] is False


def test_typed_seed_cannot_override_a_commitment(city):
    meeting_id, _ = _meeting(city, FIXED_SEED)
    # A typed seed is refused for a meeting, even the committed secret itself; the secret
    # is entered as the secret, and a wrong one is refused.
    for typed in ("manual", FIXED_SEED):
        with pytest.raises(DrawError, match="只能使用会前承诺的种子.*不能手工输入随机种子"):
            _draw(city, seed=typed, meeting_id=meeting_id, secret=FIXED_SEED)
    with pytest.raises(DrawError, match="请输入建会时显示给组织人的种子口令"):
        _draw(city, seed=None, meeting_id=meeting_id)
    with pytest.raises(SecretMismatch, match="种子口令与督查会 #1 会前公布的承诺值"):
        _draw(city, seed=None, meeting_id=meeting_id, secret=FIXED_SEED.replace("a", "b"))
    assert _count(city, spot_check_draws) == 0
    assert _draw(city, seed=None, meeting_id=meeting_id, secret=FIXED_SEED)[1] == FIXED_SEED


def test_draw_refuses_unknown_meeting_and_mixed_redraws(city):
    with pytest.raises(DrawError, match="督查会 #999 不存在"):
        _draw(city, seed="x", meeting_id=999)
    meeting_id, _ = _meeting(city)
    loose, _, _ = _draw(city, seed="1")
    with pytest.raises(DrawError, match="同一督查会"):
        _draw(city, seed=None, meeting_id=meeting_id, replaces_draw_id=loose, redraw_reason="x", secret=FIXED_SEED)
    with pytest.raises(DrawError, match="#77 不存在"):
        _draw(city, seed="2", replaces_draw_id=77, redraw_reason="x")
    assert _count(city, spot_check_draws) == 1


def _set(table, draw_id, where=None, **values):
    def tamper(conn):
        key = table.c.id if table is spot_check_draws else table.c.draw_id
        stmt = table.update().where(key == draw_id)
        if where is not None:
            stmt = stmt.where(where)
        conn.execute(stmt.values(**values))
    return tamper


@pytest.mark.parametrize("change,failing", [
    ("drawn case", {"drawn", "cases", "record"}),
    # B98 takes B05's place among the drawn (its key under FIXED_SEED ranks second)
    ("candidate number", {"candidates", "drawn", "cases", "record"}),
    ("candidate weight", {"record"}),
    ("candidate county", {"record"}),
    ("seed", {"drawn", "commitment", "record"}),
    ("parameter", {"record"}),
    ("places", {"drawn", "record"}),
    ("commitment", {"commitment", "record"}),
])
def test_verify_detects_tampering(city, change, failing):
    meeting_id, _ = _meeting(city, FIXED_SEED)
    draw_id, _, _ = _draw(city, seed=None, meeting_id=meeting_id, secret=FIXED_SEED)
    with city.connect() as conn:
        assert verify_draw(conn, draw_id).ok
    tamper = {
        "drawn case": _set(spot_check_draw_cases, draw_id, spot_check_draw_cases.c.position == 1, case_no="B99"),
        "candidate number": _set(spot_check_candidates, draw_id, spot_check_candidates.c.case_no == "B05",
                                 case_no="B98"),
        "candidate weight": _set(spot_check_candidates, draw_id, spot_check_candidates.c.case_no == "B05", weight=3.0),
        "candidate county": _set(spot_check_candidates, draw_id, spot_check_candidates.c.case_no == "B05",
                                 county_code="880102"),
        "seed": _set(spot_check_draws, draw_id, seed="8"),
        "parameter": _set(spot_check_draws, draw_id, params=json.dumps({"n": 2, "method": "simple", "colors": ["red"]})),
        "places": _set(spot_check_draws, draw_id, n_requested=3),
        "commitment": lambda conn: conn.execute(meetings.update().values(seed_commitment="0" * 64)),
    }[change]
    with city.begin() as conn:
        tamper(conn)
    with city.connect() as conn:
        result = verify_draw(conn, draw_id)
    assert not result.ok
    assert {c["check"] for c in result.checks if not c["ok"]} == failing


def test_chain_reports_its_head_and_detects_earlier_edits_and_deletions(city):
    ids = [_draw(city, seed=str(i))[0] for i in range(4)]
    with city.connect() as conn:
        result = verify_draw(conn, ids[1])
        head_digest = conn.execute(sa.select(spot_check_draws.c.record_digest)
                                   .where(spot_check_draws.c.id == ids[3])).scalar()
    assert result.ok
    assert result.chain == {"length": 4, "position": 2, "head_draw_id": ids[3], "head_digest": head_digest,
                            "head_kind": "draw", "head_record_id": ids[3], "draws": 4, "outcomes": 0,
                            "follow_ups": 0, "ok": True}
    # Deleting the second draw breaks the digest of the third (it chained to the second).
    with city.begin() as conn:
        for table in (spot_check_draw_cases, spot_check_candidates):
            conn.execute(table.delete().where(table.c.draw_id == ids[1]))
        conn.execute(spot_check_draws.delete().where(spot_check_draws.c.id == ids[1]))
    with city.connect() as conn:
        third = verify_draw(conn, ids[2])
        first = {c["check"]: c for c in verify_draw(conn, ids[0]).checks}
        # Editing the first draw: the fourth is intact itself, but its chain is not.
        conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == ids[0]).values(created_by="他人"))
        fourth = {c["check"]: c["ok"] for c in verify_draw(conn, ids[3]).checks}
        conn.rollback()
    record = next(c for c in third.checks if c["check"] == "record")
    assert record["ok"] is False and "其前的第 2 条记录缺失" in record["detail"]
    # The first draw is intact; the chain it belongs to is not, and says where.
    assert first["record"]["ok"] is True
    assert first["chain"]["ok"] is False and "第 3 条（抽查记录 #3）" in first["chain"]["detail"]
    assert fourth["record"] is True and fourth["chain"] is False


def test_a_digest_that_leaves_out_the_candidates_or_is_removed_fails(city):
    """Someone who edits the candidate weights and rewrites the digest over the record
    and drawn cases only (canonical JSON, by hand here) is caught, and so is a record
    whose digest was simply removed."""
    draw_id, _, _ = _draw(city, seed="7")
    with city.begin() as conn:
        row = conn.execute(sa.select(spot_check_draws).where(spot_check_draws.c.id == draw_id)).mappings().one()
        drawn = conn.execute(sa.select(spot_check_draw_cases.c.case_no).where(spot_check_draw_cases.c.draw_id == draw_id)
                             .order_by(spot_check_draw_cases.c.position)).scalars().all()
        fields = ["created_by", "scope_code", "meeting_id", "meeting", "method", "params", "seed", "n_requested",
                  "candidate_count", "candidate_fingerprint", "algorithm_version", "replaces_draw_id", "redraw_reason"]
        content = {name: row[name] for name in fields} | {"created_at": str(row["created_at"]), "drawn": drawn}
        text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        conn.execute(spot_check_candidates.update().where(spot_check_candidates.c.draw_id == draw_id)
                     .values(weight=5.0))
        conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == draw_id)
                     .values(record_digest=hashlib.sha256(text.encode()).hexdigest()))
    with city.connect() as conn:
        checks = {c["check"]: c["ok"] for c in verify_draw(conn, draw_id).checks}
    assert checks["record"] is False
    with city.begin() as conn:
        conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == draw_id).values(record_digest=None))
    with city.connect() as conn:
        result = verify_draw(conn, draw_id)
    assert not result.ok and {c["check"]: c["ok"] for c in result.checks}["record"] is False


def test_concurrent_draws_chain_one_after_the_other(city_engine):
    """Two draws at the same moment: the second waits for the first and chains to it
    (on SQLite and PostgreSQL)."""
    with city_engine.connect() as conn:
        scope = scope_for(conn)
        candidates = draw_candidates(conn, scope, Filters(), TODAY)
    holding, release, done = threading.Event(), threading.Event(), {}

    def draw(name, hold):
        with city_engine.begin() as conn:
            done[name] = record_draw(conn, candidates, 1, seed=name, created_by="x", scope_code="880100")[0]
            if hold:
                holding.set()
                release.wait(20)

    first = threading.Thread(target=draw, args=("a", True))
    second = threading.Thread(target=draw, args=("b", False))
    first.start()
    assert holding.wait(20)
    second.start()
    time.sleep(0.8)
    waited = "b" not in done
    release.set()
    first.join(30)
    second.join(30)
    try:
        assert waited and set(done) == {"a", "b"}
        with city_engine.connect() as conn:
            assert verify_draw(conn, done["b"]).ok
            assert verify_draw(conn, done["b"]).chain["position"] == verify_draw(conn, done["a"]).chain["position"] + 1
    finally:
        with city_engine.begin() as conn:  # the shared fixture city stays as it was
            for table in (spot_check_draw_cases, spot_check_candidates):
                conn.execute(table.delete().where(table.c.draw_id.in_(list(done.values()))))
            conn.execute(spot_check_draws.delete().where(spot_check_draws.c.id.in_(list(done.values()))))


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
    # First keys (hashlib): seed "0" -> B05; FIXED_SEED -> B01.
    assert [_first_by_key(seed) for seed in ("0", FIXED_SEED)] == ["B05", "B01"]
    first_two = _secret_ranking("B01", "B02")
    m1, _ = _meeting(city, first_two, "五月", dt.datetime(2026, 5, 30, 9))
    m2, _ = _meeting(city, FIXED_SEED, "六月", dt.datetime(2026, 6, 30, 9))
    _draw(city, n=2, seed=None, meeting_id=m1, secret=first_two)  # B01 B02: meeting m1
    _draw(city, n=1, seed="0")  # B05, a sitting of its own (no meeting)

    def left(**options):
        with city.connect() as conn:
            frame = candidate_frame(conn, scope_for(conn), Filters(), TODAY, CandidateOptions(**options))
        return frame["case_no"].tolist()

    assert left() == ["B01", "B02", "B05"]
    assert left(exclude_last=1) == ["B01", "B02"]
    assert left(exclude_last=2) == []
    # Meeting m2 draws B01 (FIXED_SEED) excluding the last sitting (B05); its redraw
    # excludes the same sitting, not the draw it replaces nor its own meeting.
    assert left(exclude_last=1, meeting_id=m2) == ["B01", "B02"]
    d, _, _ = _draw(city, n=1, seed=None, meeting_id=m2, secret=FIXED_SEED)
    assert left(exclude_last=1) == ["B02", "B05"]
    assert left(exclude_last=1, meeting_id=m2, replaces_draw_id=d) == ["B01", "B02"]


@pytest.mark.parametrize("colors", ["stored", "colored-here", "one-not-stored"])
def test_candidate_filters_and_weights(city, colors, monkeypatch):
    if colors == "colored-here":  # a date the colors are not stored for
        monkeypatch.setattr("queries.summary._colors_ready", lambda *_: False)
    if colors == "one-not-stored":  # B02 (red) without a stored row: colored by the rule on reading
        with city.begin() as conn:
            conn.execute(sa.text("DELETE FROM case_colors WHERE case_id = (SELECT id FROM cases WHERE case_no = 'B02')"))
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


def _run(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse rejects the value itself
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_meeting_draw_verify_agenda(city_env, capsys, tmp_path):
    assert main(["meeting", "create", "--user", "supervisor", "--title", "七月抽查会", "--at", "2026-07-01 14:30", "--json"]) == 0
    meeting = json.loads(capsys.readouterr().out)
    assert len(meeting["seed_commitment"]) == 64
    assert hashlib.sha256(meeting["secret"].encode()).hexdigest() == meeting["seed_commitment"]
    assert main(["draw", "--user", "supervisor", "--n", "2", "--meeting", str(meeting["meeting_id"]),
                 "--secret", meeting["secret"], "--method", "stratified", "--json"]) == 0
    drawn = json.loads(capsys.readouterr().out)
    assert drawn["seed"] == meeting["secret"]
    assert hashlib.sha256(drawn["seed"].encode()).hexdigest() == meeting["seed_commitment"]
    assert {"draw_id", "seed", "method", "candidate_count", "meeting_id", "replaces_draw_id", "cases",
            "notes"} <= set(drawn)
    assert len(drawn["cases"]) == 2 and drawn["meeting_id"] == meeting["meeting_id"]
    assert main(["verify-draw", str(drawn["draw_id"]), "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] is True and set(verified) == {"draw_id", "ok", "checks", "chain"}
    assert verified["chain"]["length"] == 1 and verified["chain"]["head_draw_id"] == drawn["draw_id"]
    # A redraw names the draw it replaces; it stays in the meeting, its seed is chained.
    assert main(["draw", "--user", "supervisor", "--n", "2", "--replaces", str(drawn["draw_id"]), "--reason", "漏了乙县", "--json"]) == 0
    redrawn = json.loads(capsys.readouterr().out)
    assert redrawn["seed"] == drawn["seed"] + "/重抽1" and redrawn["meeting_id"] == meeting["meeting_id"]
    assert main(["verify-draw", str(redrawn["draw_id"])]) == 0
    text = capsys.readouterr().out
    assert "第 1 次重新抽取" in text and "共 2 条记录" in text
    assert main(["draw", "--user", "supervisor", "--n", "1", "--method", "weighted", "--weight-by", "color", "--exclude-last", "1",
                 "--json"]) == 0
    weighted = json.loads(capsys.readouterr().out)
    assert weighted["candidate_count"] == 1  # two of three were drawn at the last meeting
    xlsx = tmp_path / "agenda.xlsx"
    assert main(["agenda", str(redrawn["draw_id"]), "--xlsx", str(xlsx), "--html", str(tmp_path / "a.html")]) == 0
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet.max_row == 5
    assert sheet.cell(row=1, column=1).value == "督查会议程 · 七月抽查会"
    assert f"随机种子 {redrawn['seed']}" in sheet.cell(row=2, column=1).value
    assert f"随机种子 {redrawn['seed']}" in (tmp_path / "a.html").read_text(encoding="utf-8")
    with sa.create_engine(city_env).begin() as conn:
        conn.execute(spot_check_draws.update().where(spot_check_draws.c.id == redrawn["draw_id"]).values(seed="x"))
    assert main(["verify-draw", str(redrawn["draw_id"])]) == 1
    assert "核验未通过" in capsys.readouterr().out


@pytest.mark.parametrize("argv,count,stored", [
    (["--region", "880102"], 2, {"region": "880102"}),  # 甲区: B01 B02
    (["--color", "red"], 1, {"colors": ["red"]}),  # B02
    (["--color", "红色"], 1, {"colors": ["red"]}),
    (["--source", "province"], 2, {"sources": ["province"]}),  # B02 B05
    (["--min-days", "365"], 2, {"min_days_open": 365}),  # B01 486 days, B02 394
    (["--domain", "housing"], 1, {"domains": ["housing"]}),  # B02
    (["--domain", "自然资源", "--domain", "housing"], 2, {"domains": ["land", "housing"]}),  # B01 B02
    (["--channel", "online"], 1, {"channels": ["online"]}),  # B05
])
def test_cli_draw_filters_match_the_page(city_env, capsys, argv, count, stored):
    code, out, _ = _run(capsys, ["draw", "--user", "supervisor", "--n", "1", "--json", *argv])
    assert code == 0
    result = json.loads(out)
    assert result["candidate_count"] == count
    with sa.create_engine(city_env).connect() as conn:
        params = json.loads(conn.execute(sa.select(spot_check_draws.c.params)
                                         .where(spot_check_draws.c.id == result["draw_id"])).scalar())
    # The same keys as a draw made on the page.
    assert {"region", "county", "township", "domains", "channels", "colors", "sources", "min_days_open",
            "exclude_last", "as_of"} <= set(params)
    assert stored.items() <= params.items()


def test_cli_draw_tells_about_shortages(city_env, capsys):
    # 甲区 has 2 candidates, 乙县 1: with k = 2 乙县 gives its only case.
    code, out, err = _run(capsys, ["draw", "--user", "supervisor", "--n", "3", "--method", "stratified", "--k", "2", "--json"])
    assert code == 0
    assert json.loads(out)["notes"] == ["乙县只有 1 件候选，少于每县区 2 件，已全部抽中。"]
    code, out, err = _run(capsys, ["draw", "--user", "supervisor", "--n", "1", "--per-county"])
    assert code == 0
    assert "提示：抽取件数 1 件少于各县区保底件数之和 2 件" in err and "未抽到的县区" in err


@pytest.fixture
def redrawn_meeting(city_env, capsys):
    """Meeting #1 (committed) with draw #1 replaced by draw #2; meeting #2 (committed)
    not drawn yet."""
    assert main(["meeting", "create", "--user", "supervisor", "--title", "七月", "--at", "2026-07-01 14:30",
                 "--json"]) == 0
    secret = json.loads(capsys.readouterr().out)["secret"]
    assert main(["meeting", "create", "--user", "supervisor", "--title", "八月", "--at", "2026-08-01 14:30"]) == 0
    assert main(["draw", "--user", "supervisor", "--n", "1", "--meeting", "1", "--secret", secret]) == 0
    assert main(["draw", "--user", "supervisor", "--n", "1", "--replaces", "1", "--reason", "重抽"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("argv,fragment", [
    (["draw", "--n", "1", "--meeting", "999"], "督查会 #999 不存在"),
    (["draw", "--n", "1", "--meeting", "999", "--secret", "x"], "督查会 #999 不存在"),
    (["draw", "--n", "2", "--meeting", "2", "--seed", "manual"], "不能手工指定随机种子"),
    (["draw", "--n", "1", "--meeting", "1"], "已有抽查记录 #2"),
    (["draw", "--n", "1", "--replaces", "1", "--reason", "再抽"], "#1 已被 #2 替换，不能再次替换；如需重新抽取，请替换当前记录 #2"),
    (["draw", "--n", "1", "--replaces", "2"], "必须写明理由"),
    (["draw", "--n", "1", "--reason", "x"], "--reason 只用于重新抽取"),
    (["agenda", "2", "--xlsx", "/nonexistent/x.xlsx"], "目录 /nonexistent 不存在"),
    (["agenda", "9", "--xlsx", "x.xlsx"], "#9 不存在"),
    (["verify-draw", "9"], "#9 不存在"),
    (["draw", "--n", "1", "--method", "bogus"], "抽取方式 'bogus' 不存在，可选：simple（简单随机）、stratified（按县区分层）、weighted（加权随机）"),
    (["draw", "--n", "1", "--exclude-last", "-5"], "应为 0 或正整数：'-5'"),
    (["draw", "--n", "1", "--k", "2"], "--k（每县区至少抽取件数）只用于分层抽取"),
    (["draw", "--n", "1", "--method", "weighted", "--k", "2"], "只用于分层抽取"),
    (["draw", "--n", "1", "--weight-by", "color"], "--weight-by（加权依据）只用于加权抽取"),
    (["draw", "--n", "1", "--method", "stratified", "--weight-by", "age"], "只用于加权抽取"),
    (["draw", "--n", "1", "--per-county", "--method", "weighted"], "不能与 --method weighted 同用"),
    (["draw", "--n", "1", "--per-county", "--k", "3"], "--method stratified --k 3"),
    (["draw", "--n", "1", "--color", "purple"], "督办颜色 'purple' 不存在，可选：red（红色）"),
    (["draw", "--n", "1", "--source", "county"], "积案来源 'county' 不存在"),
    (["draw", "--n", "1", "--min-days", "abc"], "应为 0 或正整数"),
    (["draw", "--n", "1", "--seed", "x" * 65], "不能手工指定随机种子"),
    (["meeting", "create", "--title", " ", "--at", "2026-07-01 14:30"], "请填写会议名称"),
    (["meeting", "create", "--title", "x", "--at", "明天"], "时间格式不对"),
])
def test_cli_bad_input_exits_2_in_chinese(redrawn_meeting, capsys, tmp_path, monkeypatch, argv, fragment):
    work = tmp_path / "out"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = _run(capsys, ["--user", "supervisor", *argv])  # may draw: the errors are the input's
    assert code == 2
    assert fragment in err and "Traceback" not in err and "invalid" not in err
    assert not list(work.iterdir())  # nothing half written


def test_exports_neutralise_formulas():
    from dashboard.exports import neutralise

    assert [neutralise(v) for v in ("=1+1", "+86", "-3", "@SUM(A1)", "正常", 5)] == [
        "'=1+1", "'+86", "'-3", "'@SUM(A1)", "正常", 5]


def test_time_left_and_draw_time():
    now = dt.datetime(2026, 6, 29, 9, 0)
    assert time_left(dt.datetime(2026, 6, 30, 14, 30), now) == "1 天 5 小时 30 分"
    assert time_left(dt.datetime(2026, 6, 29, 9, 45), now) == "0 小时 45 分"
    assert time_left(dt.datetime(2026, 6, 29, 8, 0), now) == "已开始或已结束"
    assert draw_time(dt.datetime(2026, 6, 30, 14, 30)) == dt.datetime(2026, 6, 30, 10, 30)


def test_spot_check_page_committed_meeting_and_redraw(app_env):
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
    at = as_user(AppTest.from_file(app, default_timeout=60), "supervisor")
    at.run()
    at.switch_page("pages/spot_check.py").run()
    at.button(key="FormSubmitter:meeting_form-新建督查会").click().run()
    secret = at.code[0].value  # shown once to the officer who made the meeting
    at.selectbox(key="draw_meeting_id").set_value(1).run()
    assert not at.exception
    # No seed to type for a committed meeting, but its secret; the time to the meeting
    # and the draw time.
    assert "draw_seed" not in [t.key for t in at.text_input]
    assert any("建议抽取时间 06-30 10:30（会前 4 小时）" in i.value and "距开会" in i.value for i in at.info)
    at.number_input(key="draw_n").set_value(1)
    at.text_input(key="draw_secret").input(secret)
    at.button(key="FormSubmitter:draw_form-抽取").click().run()
    assert any("已抽取并保存为抽查记录 #1" in s.value for s in at.success)
    seed = _metrics(at)["随机种子"]
    assert seed == secret
    # Drawn once: a new draw must replace #1 and say why.
    assert _replace_box(at).options == ["替换抽查记录 #1"]
    at.button(key="FormSubmitter:draw_form-抽取").click().run()
    assert any("必须写明理由" in e.value for e in at.error)
    at.text_input(key="draw_reason").input("候选清单漏了乙县")
    at.button(key="FormSubmitter:draw_form-抽取").click().run()
    assert any("已抽取并保存为抽查记录 #2" in s.value for s in at.success)
    assert _metrics(at)["随机种子"] == seed + "/重抽1"
    assert _replace_box(at).options == ["替换抽查记录 #2"]
    at.button(key="verify_draw").click().run()
    assert any("核验通过" in s.value for s in at.success)
    assert any("存证链：共 2 条记录" in c.value for c in at.caption)
    # Every table can be downloaded (Excel and CSV).
    keys = {e.proto.id.rsplit("-", 1)[-1] for e in at.get("download_button")}
    for table in ("meeting", "draw", "notify", "history"):
        assert {f"{table}_download_xlsx", f"{table}_download_csv"} <= keys, table
    # Outcomes: recorded, listed, downloadable.
    at.selectbox(key="outcome_case").set_value(at.selectbox(key="outcome_case").options[0])
    at.radio(key="outcome_rating").set_value("needs_work")  # nothing is chosen in advance
    at.text_area(key="outcome_report").input("已约谈，正在协调")
    at.button(key="FormSubmitter:outcome_form-保存会后记录").click().run()
    assert not at.exception
    keys = {e.proto.id.rsplit("-", 1)[-1] for e in at.get("download_button")}
    assert {"outcome_download_xlsx", "outcome_download_csv"} <= keys


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _replace_box(at):
    return next(box for box in at.selectbox if box.label == "重新抽取（替换当前记录）")


def test_spot_check_page_tells_about_a_stratified_shortage(app_env):
    from streamlit.testing.v1 import AppTest

    at = as_user(AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"),
                                   default_timeout=60), "supervisor")
    at.run()
    at.switch_page("pages/spot_check.py").run()
    at.radio(key="draw_method").set_value("stratified").run()
    at.number_input(key="draw_n").set_value(1)
    assert "draw_seed" not in [t.key for t in at.text_input]  # the seed is generated
    at.button(key="FormSubmitter:draw_form-抽取").click().run()
    assert not at.exception
    # The one place went to 甲区 (B01, B02) or 乙县 (B05), as the seed decided.
    drawn = next(t for t in at.dataframe if "信访件编号" in t.value.columns).value["信访件编号"].tolist()
    missed = "乙县" if drawn[0] in ("B01", "B02") else "甲区"
    assert [w.value for w in at.warning] == [
        "抽取件数 1 件少于各县区保底件数之和 2 件（2 个县区各 1 件），"
        f"无法保证每县区都达到保底：已按本次种子决定的县区顺序轮流分配，各县区相差不超过 1 件。未抽到的县区：{missed}。"
    ]
