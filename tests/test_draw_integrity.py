"""Issue 12, finding 2: draw records that cannot be changed unnoticed.

- the record chain of draws, meeting outcomes and follow-up reports, recomputed here
  with json and hashlib from the format the README documents;
- a tamper suite: every stored field of a draw (its drawn and candidate rows, its
  meeting), of an outcome and of a follow-up report, edited in the database, makes
  verify-draw fail;
- a rewrite that recomputes every digest after it passes the chain on its own but not a
  head written down earlier (`--expect-head`);
- the meeting's secret is nowhere in the database; nobody types a seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard import actions, db, draws, migrate
from dashboard.draws import DrawError, DrawSpec, SecretMismatch, record_draw, verify_draw
from dashboard.meetings import record_outcome
from dashboard.models import (
    Base,
    audit_log,
    cases,
    follow_up_reports,
    meeting_outcomes,
    meetings,
    spot_check_candidates,
    spot_check_draw_cases,
    spot_check_draws,
)
from dashboard.setup import OutdatedDatabase, upgrade_database
from entrypoints.cli import main
from queries.filters import Filters, scope_for
from queries.spot_check import candidate_frame
from tests import fixture_city
from tests.conftest import drop_database, throwaway_database
from tests.fixture_city import CITY, TODAY
from tests.signin import actor_of

RULE = "会上当场掷骰所得数字"
CHAINED = (("draw", spot_check_draws), ("outcome", meeting_outcomes), ("follow_up", follow_up_reports))


# ------------------------------------------------------------------ the scenario


def _pool(engine):
    with engine.connect() as conn:
        return candidate_frame(conn, scope_for(conn), Filters(), TODAY)


def _case_id(conn, case_no: str) -> int:
    return conn.execute(sa.select(cases.c.id).where(cases.c.case_no == case_no)).scalar_one()


def build_scenario(engine, url: str) -> dict:
    """On the fixture city, through the actions layer: meeting #1 (committed, with a
    value announced at the meeting) drawn as #1 and redrawn as #2; meeting #2 not drawn
    yet; two outcomes on #2 (B01, B02) and a follow-up report on B01's; then draw #3
    without a meeting. Chain: #1, #2, outcome 1, outcome 2, report 1, #3."""
    fixture_city.build(engine)
    supervisor, town = actor_of("supervisor", url), actor_of("town_a1", url)
    pool = _pool(engine)
    july = actions.create_meeting(engine, supervisor, title="七月抽查会", scheduled_at=dt.datetime(2026, 7, 1, 14, 30),
                                  public_value_rule=RULE)
    august = actions.create_meeting(engine, supervisor, title="八月抽查会", scheduled_at=dt.datetime(2026, 8, 1, 9))
    first = actions.draw(engine, supervisor, pool, spec=DrawSpec(n=3), region_code=CITY,
                         meeting_id=july.meeting_id, secret=july.secret, public_value="5 8 1")
    second = actions.draw(engine, supervisor, pool, spec=DrawSpec(n=3), region_code=CITY,
                          replaces_draw_id=first.draw_id, redraw_reason="候选清单有误")
    for case_no, rating in (("B01", "needs_work"), ("B02", "unsatisfactory")):
        actions.record_outcome(engine, supervisor, draw_id=second.draw_id, case_no=case_no, leader_report="已约谈",
                               comment="进度慢", rating=rating, follow_up_due=dt.date(2026, 7, 31))
    actions.report_follow_up(engine, town, "B01", "已召开协调会，拟于月底前化解")
    loose = actions.draw(engine, supervisor, pool, spec=DrawSpec(n=1), region_code=CITY)
    return {"july": july, "august": august, "first": first, "second": second, "loose": loose}


def _make_database(kind: str, tmp_path_factory):
    return throwaway_database(kind, tmp_path_factory, "integrity")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(request, tmp_path_factory):
    url, drop = _make_database(request.param, tmp_path_factory)
    engine = db.make_engine(url)
    made = build_scenario(engine, url)
    yield engine, made
    engine.dispose()
    drop_database(drop)


# ------------------------------------------------------------------ the chain, by hand


def hand_chain(conn, *, rewrite: bool = False) -> list[tuple[int, str, int, str]]:
    """(place, kind, id, digest) of every chained record, recomputed from the stored rows
    with json and hashlib exactly as the README describes, without the product's code.
    With `rewrite`, store the recomputed digests (what someone with write access to the
    database and the documented format can do after editing a record)."""
    records = []
    for kind, table in CHAINED:
        for row in conn.execute(sa.select(table)).mappings():
            records.append((row["chain_seq"], kind, dict(row)))
    records.sort(key=lambda r: r[0])
    previous, out = "", []
    for seq, kind, row in records:
        content = {"kind": kind, "record": {k: v for k, v in row.items() if k != "record_digest"}}
        if kind == "draw":
            drawn = conn.execute(sa.select(spot_check_draw_cases).where(spot_check_draw_cases.c.draw_id == row["id"])
                                 ).mappings().all()
            pool = conn.execute(sa.select(spot_check_candidates).where(spot_check_candidates.c.draw_id == row["id"])
                                ).mappings().all()
            meeting = conn.execute(sa.select(meetings).where(meetings.c.id == row["meeting_id"])).mappings().first()
            content["drawn"] = [[r["position"], r["case_id"], r["case_no"]] for r in sorted(drawn, key=lambda r: r["position"])]
            content["candidates"] = [[r["case_no"], r["case_id"], r["county_code"], float(r["weight"])]
                                     for r in sorted(pool, key=lambda r: r["case_no"])]
            content["meeting"] = dict(meeting) if meeting else None
        text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256((previous + text).encode("utf-8")).hexdigest()
        if rewrite:
            table = dict(CHAINED)[kind]
            conn.execute(table.update().where(table.c.id == row["id"]).values(record_digest=digest))
        out.append((seq, kind, row["id"], digest))
        previous = digest
    return out


def _stored(conn) -> list[tuple[int, str, int, str]]:
    rows = [(r.chain_seq, kind, r.id, r.record_digest)
            for kind, table in CHAINED for r in conn.execute(sa.select(table.c.id, table.c.chain_seq,
                                                                        table.c.record_digest))]
    return sorted(rows)


def test_every_digest_is_recomputable_by_hand(scenario):
    engine, made = scenario
    with engine.connect() as conn:
        stored = _stored(conn)
        by_hand = hand_chain(conn)
        result = verify_draw(conn, made["second"].draw_id)
    assert [(seq, kind, i) for seq, kind, i, _ in stored] == [
        (1, "draw", 1), (2, "draw", 2), (3, "outcome", 1), (4, "outcome", 2), (5, "follow_up", 1), (6, "draw", 3)]
    assert by_hand == stored
    assert result.ok, result.checks
    assert result.chain == {"length": 6, "position": 2, "head_digest": stored[-1][3], "head_kind": "draw",
                            "head_record_id": 3, "head_draw_id": 3, "draws": 3, "outcomes": 2, "follow_ups": 1,
                            "ok": True}
    checks = {c["check"]: c for c in result.checks}
    assert "会后记录 2 条、跟进情况 1 条均与存证摘要一致" == checks["outcomes"]["detail"]


def test_seeds_follow_the_commitment_and_the_announced_value(scenario):
    engine, made = scenario
    july = made["july"]
    assert hashlib.sha256(july.secret.encode()).hexdigest() == july.commitment
    # "5 8 1" as announced, spaces dropped; the redraw continues from it.
    assert made["first"].seed == f"{july.secret}+581"
    assert made["second"].seed == f"{july.secret}+581/重抽1"
    # The drawn order is the SHA-256 ranking under that seed (hashlib).
    expected = sorted(("B01", "B02", "B05"),
                      key=lambda no: hashlib.sha256(f"{made['second'].seed}|{no}".encode()).hexdigest())
    assert [c.case_no for c in made["second"].drawn] == expected
    loose = made["loose"].seed
    assert len(loose) == 39 and loose.count("-") == 7 and july.secret not in loose
    with engine.connect() as conn:
        checks = {c["check"]: c for c in verify_draw(conn, made["second"].draw_id).checks}
    assert checks["commitment"]["ok"] and "公开值 581" in checks["commitment"]["detail"] and RULE in checks[
        "commitment"]["detail"]


# ------------------------------------------------------------------ the tamper suite


def _shift(value):
    """Another value of the same kind."""
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(seconds=1)
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if isinstance(value, float):
        return value + 1.0
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "改"
    return value + "改"


def _edit(table, where, **values):
    """Set columns of the matching rows; a value may be a function of the current one."""
    def tamper(conn, ids):
        condition = where(ids)
        row = conn.execute(sa.select(table).where(condition)).mappings().first()
        assert row is not None
        new = {k: v(row[k], conn, ids) if callable(v) else v for k, v in values.items()}
        assert any(new[k] != row[k] for k in new)
        conn.execute(table.update().where(condition).values(**new))
    return tamper


def _shifted(table, column, where):
    return _edit(table, where, **{column: lambda value, conn, ids: _shift(value)})


def _draw2(ids):
    return spot_check_draws.c.id == ids["second"]


def _candidate(case_no):
    return lambda ids: sa.and_(spot_check_candidates.c.draw_id == ids["second"],
                               spot_check_candidates.c.case_no == case_no)


def _drawn(position):
    return lambda ids: sa.and_(spot_check_draw_cases.c.draw_id == ids["second"],
                               spot_check_draw_cases.c.position == position)


def _meeting1(ids):
    return meetings.c.id == ids["july"]


def _outcome1(ids):
    return meeting_outcomes.c.id == 1


def _report1(ids):
    return follow_up_reports.c.id == 1


def _other_case(case_no):
    return lambda value, conn, ids: _case_id(conn, case_no)


def _delete(table, where):
    def tamper(conn, ids):
        assert conn.execute(table.delete().where(where(ids))).rowcount == 1
    return tamper


def _move_candidate(conn, ids):
    """Draw #2's candidate B05 moved to draw #1 (in place of #1's own B05 row)."""
    conn.execute(spot_check_candidates.delete().where(spot_check_candidates.c.draw_id == ids["first"],
                                                      spot_check_candidates.c.case_no == "B05"))
    conn.execute(spot_check_candidates.update().where(_candidate("B05")(ids)).values(draw_id=ids["first"]))


def _insert_candidate(conn, ids):
    conn.execute(spot_check_candidates.insert().values(draw_id=ids["second"], case_no="C01",
                                                       case_id=_case_id(conn, "C01"), county_code="880102",
                                                       weight=1.0))


# (table, column) -> (tamper, the check of verify-draw #2 that must fail). The draw
# verified is #2, the redraw of meeting #1, with the outcomes and the follow-up report.
TAMPERS = {
    # the draw record: every column
    ("spot_check_draws", "chain_seq"): (_edit(spot_check_draws, _draw2, chain_seq=99), "record"),
    ("spot_check_draws", "meeting_id"): (_edit(spot_check_draws, _draw2, meeting_id=lambda v, c, ids: ids["august"]),
                                         "commitment"),
    ("spot_check_draws", "replaces_draw_id"): (_edit(spot_check_draws, _draw2, replaces_draw_id=None), "commitment"),
    ("spot_check_draws", "redraw_reason"): (_shifted(spot_check_draws, "redraw_reason", _draw2), "record"),
    ("spot_check_draws", "record_digest"): (_edit(spot_check_draws, _draw2, record_digest="0" * 64), "record"),
    ("spot_check_draws", "created_at"): (_shifted(spot_check_draws, "created_at", _draw2), "record"),
    ("spot_check_draws", "created_by"): (_shifted(spot_check_draws, "created_by", _draw2), "record"),
    ("spot_check_draws", "scope_code"): (_edit(spot_check_draws, _draw2, scope_code="880102"), "record"),
    ("spot_check_draws", "meeting"): (_shifted(spot_check_draws, "meeting", _draw2), "record"),
    ("spot_check_draws", "method"): (_edit(spot_check_draws, _draw2, method="stratified"), "drawn"),
    ("spot_check_draws", "params"): (_edit(spot_check_draws, _draw2,
                                           params=lambda v, c, ids: v.replace('"n": 3', '"n": 4')), "record"),
    ("spot_check_draws", "seed"): (_edit(spot_check_draws, _draw2, seed=lambda v, c, ids: v.replace("+581", "+582")),
                                   "record"),
    ("spot_check_draws", "n_requested"): (_edit(spot_check_draws, _draw2, n_requested=2), "drawn"),
    ("spot_check_draws", "candidate_count"): (_shifted(spot_check_draws, "candidate_count", _draw2), "candidates"),
    ("spot_check_draws", "candidate_fingerprint"): (_edit(spot_check_draws, _draw2, candidate_fingerprint="0" * 64),
                                                    "candidates"),
    ("spot_check_draws", "algorithm_version"): (_edit(spot_check_draws, _draw2, algorithm_version="sha256-rank-v9"),
                                                "drawn"),
    # its candidate rows
    ("spot_check_candidates", "draw_id"): (_move_candidate, "candidates"),
    ("spot_check_candidates", "case_no"): (_edit(spot_check_candidates, _candidate("B05"), case_no="B09"), "cases"),
    ("spot_check_candidates", "case_id"): (_edit(spot_check_candidates, _candidate("B05"),
                                                 case_id=_other_case("C01")), "record"),
    ("spot_check_candidates", "county_code"): (_edit(spot_check_candidates, _candidate("B05"), county_code="880102"),
                                               "record"),
    ("spot_check_candidates", "weight"): (_shifted(spot_check_candidates, "weight", _candidate("B05")), "record"),
    ("candidate removed", ""): (_delete(spot_check_candidates, _candidate("B05")), "candidates"),
    ("candidate added", ""): (_insert_candidate, "candidates"),
    # its drawn rows (pages, agendas and exclusions join on case_id)
    ("spot_check_draw_cases", "draw_id"): (_edit(spot_check_draw_cases, _drawn(3), draw_id=lambda v, c, ids: ids["loose"],
                                                 position=9), "drawn"),
    ("spot_check_draw_cases", "position"): (_edit(spot_check_draw_cases, _drawn(3), position=7), "record"),
    ("spot_check_draw_cases", "case_id"): (_edit(spot_check_draw_cases, _drawn(1), case_id=_other_case("C04")),
                                           "drawn"),
    ("spot_check_draw_cases", "case_no"): (_edit(spot_check_draw_cases, _drawn(1), case_no="C04"), "drawn"),
    ("drawn case removed", ""): (_delete(spot_check_draw_cases, _drawn(3)), "drawn"),
    # its meeting
    ("meetings", "title"): (_shifted(meetings, "title", _meeting1), "record"),
    ("meetings", "scheduled_at"): (_shifted(meetings, "scheduled_at", _meeting1), "record"),
    ("meetings", "scope_code"): (_edit(meetings, _meeting1, scope_code="880102"), "record"),
    ("meetings", "created_by"): (_shifted(meetings, "created_by", _meeting1), "record"),
    ("meetings", "created_at"): (_shifted(meetings, "created_at", _meeting1), "record"),
    ("meetings", "seed_commitment"): (_edit(meetings, _meeting1, seed_commitment="0" * 64), "commitment"),
    ("meetings", "public_value_rule"): (_edit(meetings, _meeting1, public_value_rule=None), "commitment"),
    ("meetings", "revealed_at"): (_edit(meetings, _meeting1, revealed_at=None), "record"),
    # an outcome of the draw: every column
    ("meeting_outcomes", "chain_seq"): (_edit(meeting_outcomes, _outcome1, chain_seq=None), "outcomes"),
    ("meeting_outcomes", "record_digest"): (_edit(meeting_outcomes, _outcome1, record_digest="0" * 64), "outcomes"),
    ("meeting_outcomes", "draw_id"): (_edit(meeting_outcomes, _outcome1, draw_id=lambda v, c, ids: ids["first"]),
                                      "chain"),
    ("meeting_outcomes", "case_id"): (_edit(meeting_outcomes, _outcome1, case_id=_other_case("C04")), "outcomes"),
    ("meeting_outcomes", "leader_report"): (_shifted(meeting_outcomes, "leader_report", _outcome1), "outcomes"),
    ("meeting_outcomes", "comment"): (_shifted(meeting_outcomes, "comment", _outcome1), "outcomes"),
    ("meeting_outcomes", "rating"): (_edit(meeting_outcomes, _outcome1, rating="satisfactory"), "outcomes"),
    ("meeting_outcomes", "follow_up_due"): (_shifted(meeting_outcomes, "follow_up_due", _outcome1), "outcomes"),
    ("meeting_outcomes", "recorded_by"): (_shifted(meeting_outcomes, "recorded_by", _outcome1), "outcomes"),
    ("meeting_outcomes", "recorded_at"): (_shifted(meeting_outcomes, "recorded_at", _outcome1), "outcomes"),
    # its follow-up report: every column
    ("follow_up_reports", "chain_seq"): (_edit(follow_up_reports, _report1, chain_seq=4), "outcomes"),
    ("follow_up_reports", "record_digest"): (_edit(follow_up_reports, _report1, record_digest=None), "outcomes"),
    ("follow_up_reports", "outcome_id"): (_edit(follow_up_reports, _report1, outcome_id=2), "outcomes"),
    ("follow_up_reports", "case_id"): (_edit(follow_up_reports, _report1, case_id=_other_case("B02")), "outcomes"),
    ("follow_up_reports", "progress"): (_shifted(follow_up_reports, "progress", _report1), "outcomes"),
    ("follow_up_reports", "reported_by"): (_shifted(follow_up_reports, "reported_by", _report1), "outcomes"),
    ("follow_up_reports", "reported_at"): (_shifted(follow_up_reports, "reported_at", _report1), "outcomes"),
    # a record removed from the middle of the chain
    ("outcome removed", ""): (_delete(meeting_outcomes, lambda ids: meeting_outcomes.c.id == 2), "outcomes"),
}
STORED_TABLES = (spot_check_draws, spot_check_candidates, spot_check_draw_cases, meetings, meeting_outcomes,
                 follow_up_reports)


def test_the_tamper_suite_edits_every_stored_field():
    every = {(table.name, column.name) for table in STORED_TABLES for column in table.columns
             if not (column.name == "id" and column.primary_key)}
    assert every <= set(TAMPERS), sorted(every - set(TAMPERS))


def _ids(made) -> dict:
    return {"july": made["july"].meeting_id, "august": made["august"].meeting_id, "first": made["first"].draw_id,
            "second": made["second"].draw_id, "loose": made["loose"].draw_id}


@pytest.mark.parametrize("change", list(TAMPERS), ids=lambda c: ".".join(filter(None, c)))
def test_every_edit_fails_verify_draw(scenario, change):
    engine, made = scenario
    tamper, failing = TAMPERS[change]
    with engine.connect() as conn:
        assert verify_draw(conn, made["second"].draw_id).ok
        tamper(conn, _ids(made))
        result = verify_draw(conn, made["second"].draw_id)
        conn.rollback()
    checks = {c["check"]: c for c in result.checks}
    assert not result.ok
    assert checks[failing]["ok"] is False, result.checks


def test_editing_an_earlier_draw_fails_the_chain_of_a_later_one(scenario):
    engine, made = scenario
    with engine.connect() as conn:
        conn.execute(spot_check_candidates.update().where(spot_check_candidates.c.draw_id == made["first"].draw_id,
                                                          spot_check_candidates.c.case_no == "B01")
                     .values(weight=2.0))
        checks = {c["check"]: c for c in verify_draw(conn, made["loose"].draw_id).checks}
        conn.rollback()
    assert checks["record"]["ok"] and not checks["chain"]["ok"]
    assert "第 1 条（抽查记录 #1）" in checks["chain"]["detail"]


# ------------------------------------------------------------------ rewrites against a head


def _head(conn) -> tuple[int, str]:
    stored = _stored(conn)
    return len(stored), stored[-1][3]


def test_a_rewritten_and_rechained_record_is_caught_by_the_head_in_the_minutes(scenario):
    engine, made = scenario
    draw_id = made["second"].draw_id
    with engine.connect() as conn:
        length, head = _head(conn)  # written into the minutes at the meeting
        assert {c["check"]: c["ok"] for c in verify_draw(conn, draw_id, expect_head=head,
                                                          expect_length=length).checks}["head"]
        # Later someone with write access changes a rating and recomputes every digest
        # from that record on, with the documented format.
        conn.execute(meeting_outcomes.update().where(meeting_outcomes.c.id == 1).values(rating="satisfactory"))
        hand_chain(conn, rewrite=True)
        alone = verify_draw(conn, draw_id)
        against_minutes = verify_draw(conn, draw_id, expect_head=head, expect_length=length)
        head_only = verify_draw(conn, draw_id, expect_head=head.upper())
        conn.rollback()
    assert alone.ok  # the chain is consistent again: this is what a head alone cannot see
    assert alone.chain["head_digest"] != head
    checks = {c["check"]: c for c in against_minutes.checks}
    assert not against_minutes.ok and [c for c in checks if not checks[c]["ok"]] == ["head"]
    assert f"纪要记录存证链第 {length} 条的摘要为 {head[:16]}" in checks["head"]["detail"]
    assert "被改写" in checks["head"]["detail"]
    assert not head_only.ok and "不在现存证链中" in next(c["detail"] for c in head_only.checks if c["check"] == "head")


def test_removing_the_newest_records_is_caught_only_by_the_head(scenario):
    engine, made = scenario
    draw_id = made["second"].draw_id
    with engine.connect() as conn:
        length, head = _head(conn)
        loose = made["loose"].draw_id
        for table in (spot_check_draw_cases, spot_check_candidates):
            conn.execute(table.delete().where(table.c.draw_id == loose))
        conn.execute(spot_check_draws.delete().where(spot_check_draws.c.id == loose))
        alone = verify_draw(conn, draw_id)
        against = verify_draw(conn, draw_id, expect_head=head, expect_length=length)
        conn.rollback()
    assert alone.ok and alone.chain["length"] == length - 1
    detail = next(c["detail"] for c in against.checks if c["check"] == "head")
    assert not against.ok and f"存证链现只有 {length - 1} 条，少于纪要记录的 {length} 条" in detail


def test_records_added_after_the_minutes_keep_the_head_valid(scenario):
    engine, made = scenario
    with engine.connect() as conn:
        length, head = _head(conn)
        middle = _stored(conn)[2]  # a head written down earlier (the third record)
        record_outcome(conn, draw_id=made["second"].draw_id, case_no="B05", leader_report="后补",
                                 comment=None, rating="needs_work", follow_up_due=None, recorded_by="督查室")
        later = verify_draw(conn, made["second"].draw_id, expect_head=head, expect_length=length)
        earlier = verify_draw(conn, made["second"].draw_id, expect_head=middle[3])
        conn.rollback()
    assert later.ok and later.chain["length"] == length + 1
    assert earlier.ok and "存证链第 3 条的摘要仍为" in next(c["detail"] for c in earlier.checks if c["check"] == "head")


# ------------------------------------------------------------------ the secret


def _every_value(conn) -> list[str]:
    values = []
    for table in Base.metadata.sorted_tables:
        for row in conn.execute(sa.select(table)):
            values += [str(v) for v in row if v is not None]
    return values


def _forms(secret: str) -> list[str]:
    plain = secret.replace("-", "")
    return [secret, plain, secret.upper(), plain.upper(), plain[:16], plain[16:]]


def _assert_nowhere(engine, url: str, secret: str) -> None:
    with engine.connect() as conn:
        values = _every_value(conn)
    assert values  # the scan sees the data
    for form in _forms(secret):
        assert not any(form in value for value in values), form
    if url.startswith("sqlite"):
        path = Path(sa.engine.make_url(url).database)
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
            if file.exists():
                data = file.read_bytes()
                assert not any(form.encode() in data for form in _forms(secret)), file


def test_the_secret_is_nowhere_in_the_database_after_the_meeting_is_made(writable_city):
    url, engine = writable_city
    made = actions.create_meeting(engine, actor_of("supervisor", url), title="九月抽查会",
                                  scheduled_at=dt.datetime(2026, 9, 1, 9))
    assert hashlib.sha256(made.secret.encode()).hexdigest() == made.commitment
    with engine.connect() as conn:
        stored = conn.execute(sa.select(meetings)).mappings().one()
        detail = conn.execute(sa.select(audit_log.c.detail).where(audit_log.c.action == "meeting")).scalar_one()
    assert stored["seed_commitment"] == made.commitment and made.commitment in detail
    assert "secret_seed" not in stored
    _assert_nowhere(engine, url, made.secret)


def test_a_secret_not_yet_used_is_nowhere_in_either_database(scenario):
    engine, made = scenario
    secret = made["august"].secret  # meeting #2: not drawn, its secret not revealed
    _assert_nowhere(engine, engine.url.render_as_string(hide_password=False), secret)


def test_cli_prints_the_secret_once_and_never_lists_it(city_env, capsys):
    assert main(["meeting", "create", "--user", "supervisor", "--title", "七月", "--at", "2026-07-01 14:30",
                 "--public-value-rule", RULE]) == 0
    text = capsys.readouterr().out
    secret = next(line.split("：", 1)[1] for line in text.splitlines() if line.startswith("种子口令（只显示这一次）"))
    assert "数据库管理员" in text and "--public-value" in text and RULE in text
    assert main(["meeting", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert secret not in listed and json.loads(listed)[0]["public_value_rule"] == RULE
    assert main(["meeting", "create", "--user", "supervisor", "--title", "八月", "--at", "2026-08-01 14:30",
                 "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert {"meeting_id", "title", "scheduled_at", "seed_commitment", "secret", "public_value_rule"} <= set(made)
    assert hashlib.sha256(made["secret"].encode()).hexdigest() == made["seed_commitment"]
    engine = db.make_engine(city_env)
    _assert_nowhere(engine, city_env, secret)
    _assert_nowhere(engine, city_env, made["secret"])
    engine.dispose()


def test_page_shows_the_secret_to_its_officer_until_taken_down(app_env):
    from streamlit.testing.v1 import AppTest

    from tests.signin import as_user
    from tests.test_pages import _shown

    at = as_user(AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"),
                                   default_timeout=60), "supervisor")
    at.run()
    at.switch_page("pages/spot_check.py").run()
    at.text_input(key="meeting_public_rule").input(RULE)
    at.button(key="FormSubmitter:meeting_form-新建督查会").click().run()
    assert not at.exception
    secret = at.code[0].value
    warning = next(_shown(w.value) for w in at.warning if "种子口令" in w.value)
    assert "只显示给您这一次" in warning and "数据库管理员" in warning and RULE in warning
    at.run()  # another run of the page: still there until the officer says so
    assert [c.value for c in at.code] == [secret]
    at.button(key="secret_done").click().run()
    assert not at.code and not any("种子口令（只显示" in w.value for w in at.warning)
    engine = db.make_engine(app_env)
    _assert_nowhere(engine, app_env, secret)
    engine.dispose()
    # The draw asks for the secret and the announced value; a wrong secret is refused.
    at.selectbox(key="draw_meeting_id").set_value(1).run()
    at.number_input(key="draw_n").set_value(1)
    at.text_input(key="draw_secret").input("0" * 32)
    at.text_input(key="draw_public_value").input("6")
    at.button(key="FormSubmitter:draw_form-抽取").click().run()
    assert any("种子口令与督查会 #1 会前公布的承诺值" in _shown(e.value) for e in at.error)
    at.text_input(key="draw_secret").input(secret)
    at.button(key="FormSubmitter:draw_form-抽取").click().run()
    assert any("已抽取并保存为抽查记录 #1" in _shown(s.value) for s in at.success)
    assert next(m.value for m in at.metric if m.label == "随机种子") == f"{secret}+6"
    # Verified against a head written down: a wrong one fails, the right one passes.
    with db.make_engine(app_env).connect() as conn:
        head = conn.execute(sa.select(spot_check_draws.c.record_digest)).scalar_one()
    at.number_input(key="verify_expect_length").set_value(1)
    at.text_input(key="verify_expect_head").input("f" * 64)
    at.button(key="verify_draw").click().run()
    assert any("核验未通过" in e.value for e in at.error)
    at.text_input(key="verify_expect_head").input(head)
    at.button(key="verify_draw").click().run()
    assert any("核验通过" in s.value for s in at.success)
    assert any("与纪要一致" in m.value for m in at.markdown)


# ------------------------------------------------------------------ nobody types a seed


def test_typed_seeds_are_refused_for_official_draws(writable_city):
    url, engine = writable_city
    supervisor = actor_of("supervisor", url)
    made = actions.create_meeting(engine, supervisor, title="七月", scheduled_at=dt.datetime(2026, 7, 1, 9))
    assert "seed" not in inspect.signature(actions.draw).parameters  # the one draw workflow takes none
    pool = _pool(engine)
    with engine.begin() as conn:  # the core refuses one for a meeting, even the secret itself
        candidates = draws.candidates_from_frame(pool)
        for typed in ("pick-B01", made.secret):
            with pytest.raises(DrawError, match="不能手工输入随机种子"):
                record_draw(conn, candidates, 1, seed=typed, secret=made.secret, created_by="x", scope_code=CITY,
                            meeting_id=made.meeting_id)
    with pytest.raises(DrawError, match="种子口令和公开值只用于督查会的抽取"):
        actions.draw(engine, supervisor, pool, spec=DrawSpec(n=1), region_code=CITY, secret=made.secret)
    with pytest.raises(DrawError, match="建会时没有约定会上公布的公开值"):
        actions.draw(engine, supervisor, pool, spec=DrawSpec(n=1), region_code=CITY, meeting_id=made.meeting_id,
                     secret=made.secret, public_value="7")
    with pytest.raises(SecretMismatch):
        actions.draw(engine, supervisor, pool, spec=DrawSpec(n=1), region_code=CITY, meeting_id=made.meeting_id,
                     secret=draws.new_seed())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(spot_check_draws)).scalar() == 0
        failed = conn.execute(sa.select(audit_log.c.action, audit_log.c.outcome, audit_log.c.detail)
                              .where(audit_log.c.outcome == "failed")).all()
    assert [tuple(r) for r in failed] == [("draw", "failed", "种子口令与承诺值不符，未抽取")]


@pytest.mark.parametrize("argv,fragment", [
    (["draw", "--n", "1", "--seed", "B01-wins"], "不能手工指定随机种子"),
    (["draw", "--n", "1", "--meeting", "1", "--seed", "B01-wins"], "不能手工指定随机种子"),
    (["draw", "--n", "1", "--meeting", "1"], "请输入建会时显示给组织人的种子口令"),
    (["draw", "--n", "1", "--meeting", "1", "--secret", "12345"], "种子口令应为 32 位十六进制数字"),
    (["draw", "--n", "1", "--meeting", "1", "--secret", "0" * 32], "种子口令与督查会 #1 会前公布的承诺值"),
    (["draw", "--n", "1", "--secret", "0" * 32], "种子口令和公开值只用于督查会的抽取"),
    (["meeting", "create", "--title", "x", "--at", "2026-07-01 14:30", "--no-commit"], "不再支持 --no-commit"),
    (["verify-draw", "1", "--expect-length", "3"], "须与 --expect-head 同用"),
])
def test_cli_refuses_typed_seeds_and_bad_secrets(city_env, capsys, argv, fragment):
    assert main(["meeting", "create", "--user", "supervisor", "--title", "七月", "--at", "2026-07-01 14:30"]) == 0
    capsys.readouterr()
    try:
        code = main(["--user", "supervisor", *argv])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and "Traceback" not in err


def test_cli_verify_draw_against_the_minutes_and_agenda_carries_the_head(city_env, capsys, tmp_path):
    import openpyxl

    assert main(["meeting", "create", "--user", "supervisor", "--title", "七月抽查会", "--at", "2026-07-01 14:30",
                 "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert main(["draw", "--user", "supervisor", "--n", "2", "--meeting", "1", "--secret", made["secret"],
                 "--json"]) == 0
    capsys.readouterr()
    assert main(["verify-draw", "1", "--json"]) == 0
    chain = json.loads(capsys.readouterr().out)["chain"]
    assert (chain["length"], chain["position"], chain["head_kind"]) == (1, 1, "draw")
    xlsx, page = tmp_path / "a.xlsx", tmp_path / "a.html"
    assert main(["agenda", "1", "--user", "supervisor", "--xlsx", str(xlsx), "--html", str(page)]) == 0
    assert chain["head_digest"] in capsys.readouterr().out
    subtitle = openpyxl.load_workbook(xlsx).active.cell(row=2, column=1).value
    for part in ("督查会 #1 2026-07-01 14:30", f"会前承诺值（SHA-256）{made['seed_commitment']}",
                 f"随机种子 {made['secret']}", f"最新摘要 {chain['head_digest']}", "本记录为第 1 条，打印时共 1 条"):
        assert part in subtitle and part in page.read_text(encoding="utf-8"), part
    argv = ["verify-draw", "1", "--expect-length", "1", "--expect-head", chain["head_digest"]]
    assert main(argv) == 0
    assert "与纪要一致" in capsys.readouterr().out
    engine = sa.create_engine(city_env)
    with engine.begin() as conn:  # the draw record edited, the chain recomputed after it
        conn.execute(spot_check_draws.update().values(created_by="他人"))
        hand_chain(conn, rewrite=True)
    engine.dispose()
    assert main(["verify-draw", "1"]) == 0  # consistent again on its own …
    capsys.readouterr()
    assert main([*argv, "--json"]) == 1  # … but not with the minutes
    result = json.loads(capsys.readouterr().out)
    assert [c["check"] for c in result["checks"] if not c["ok"]] == ["head"]


# ------------------------------------------------------------------ older databases


S1, S2 = "1111-2222-3333-4444-5555-6666-7777-8888", "9999-aaaa-bbbb-cccc-dddd-eeee-ffff-0000"
OLD_MEETINGS = sa.table("meetings", *(sa.column(name, kind) for name, kind in (
    ("id", sa.Integer), ("title", sa.String), ("scheduled_at", sa.DateTime), ("scope_code", sa.String),
    ("created_by", sa.String), ("created_at", sa.DateTime), ("seed_commitment", sa.String),
    ("secret_seed", sa.String), ("revealed_at", sa.DateTime))))
OLD_DRAWS = sa.table("spot_check_draws", *(sa.column(name, kind) for name, kind in (
    ("id", sa.Integer), ("meeting_id", sa.Integer), ("replaces_draw_id", sa.Integer), ("redraw_reason", sa.Text),
    ("record_digest", sa.String), ("created_at", sa.DateTime), ("created_by", sa.String), ("scope_code", sa.String),
    ("meeting", sa.String), ("method", sa.String), ("params", sa.Text), ("seed", sa.String),
    ("n_requested", sa.Integer), ("candidate_count", sa.Integer), ("candidate_fingerprint", sa.String),
    ("algorithm_version", sa.String))))
OLD_CANDIDATES = sa.table("spot_check_candidates", sa.column("draw_id", sa.Integer), sa.column("case_no", sa.String),
                          sa.column("county_code", sa.String), sa.column("weight", sa.Float))
OLD_OUTCOMES = sa.table("meeting_outcomes", *(sa.column(name, kind) for name, kind in (
    ("id", sa.Integer), ("draw_id", sa.Integer), ("case_id", sa.Integer), ("leader_report", sa.Text),
    ("comment", sa.Text), ("rating", sa.String), ("follow_up_due", sa.Date), ("recorded_by", sa.String),
    ("recorded_at", sa.DateTime))))
OLD_REPORTS = sa.table("follow_up_reports", *(sa.column(name, kind) for name, kind in (
    ("id", sa.Integer), ("outcome_id", sa.Integer), ("case_id", sa.Integer), ("progress", sa.Text),
    ("reported_by", sa.String), ("reported_at", sa.DateTime))))
POOL = (("B01", "880102"), ("B02", "880102"), ("B05", "880121"))


def _old_digest(previous, row: dict, drawn: list[str], commitment) -> str:
    """A draw's digest in the format of the first release (worked out by hand)."""
    content = {k: row[k] for k in ("created_by", "scope_code", "meeting_id", "meeting", "method", "params", "seed",
                                  "n_requested", "candidate_count", "candidate_fingerprint", "algorithm_version",
                                  "replaces_draw_id", "redraw_reason")}
    content |= {"created_at": str(row["created_at"]), "drawn": drawn, "seed_commitment": commitment,
                "candidates": [[no, county, 1.0] for no, county in POOL]}
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(((previous or "") + text).encode()).hexdigest()


def _database_at_0002(engine, *, tamper: bool = False) -> None:
    """The fixture city in a database of revision 0002 (sign-in and audit, before the
    record chain): meeting #1 drawn as #1 with its secret in clear, meeting #2 not drawn
    yet (its secret in clear too), draw #2 without a meeting, an outcome on #1 and a
    follow-up report. With `tamper`, draw #2's candidate weight was edited after it was
    sealed."""
    from alembic import command

    from dashboard import migrate
    from dashboard.models import leaders, regions, units

    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0002")
        conn.execute(regions.insert(), fixture_city.REGIONS)
        conn.execute(units.insert(), fixture_city.UNITS)
        conn.execute(leaders.insert(), fixture_city.LEADERS)
        conn.execute(cases.insert(), [dict(row, id=i) for i, row in enumerate(fixture_city.CASES, start=1)])
        for meeting_id, secret in ((1, S1), (2, S2)):
            conn.execute(OLD_MEETINGS.insert().values(
                id=meeting_id, title=f"旧会{meeting_id}", scheduled_at=dt.datetime(2026, 6, meeting_id, 14, 30),
                scope_code=CITY, created_by="督查室", created_at=dt.datetime(2026, 5, 20, 9),
                seed_commitment=hashlib.sha256(secret.encode()).hexdigest(), secret_seed=secret,
                revealed_at=dt.datetime(2026, 6, 1, 10) if meeting_id == 1 else None))
        previous = None
        for draw_id, meeting_id, seed in ((1, 1, S1), (2, None, "legacy-typed")):
            drawn = sorted((no for no, _ in POOL), key=lambda no: hashlib.sha256(f"{seed}|{no}".encode()).hexdigest())[:2]
            row = dict(id=draw_id, meeting_id=meeting_id, replaces_draw_id=None, redraw_reason=None,
                       created_at=dt.datetime(2026, 6, 1, 9 + draw_id), created_by="督查室", scope_code=CITY,
                       meeting="旧会1" if meeting_id else None, method="simple", params='{"n": 2}', seed=seed,
                       n_requested=2, candidate_count=3,
                       candidate_fingerprint=hashlib.sha256(b"B01\nB02\nB05").hexdigest(),
                       algorithm_version="sha256-rank-v1")
            row["record_digest"] = previous = _old_digest(
                previous, row, drawn, hashlib.sha256(S1.encode()).hexdigest() if meeting_id else None)
            conn.execute(OLD_DRAWS.insert().values(**row))
            conn.execute(OLD_CANDIDATES.insert(), [dict(draw_id=draw_id, case_no=no, county_code=county, weight=1.0)
                                                   for no, county in POOL])
            conn.execute(spot_check_draw_cases.insert(), [
                dict(draw_id=draw_id, position=i, case_id=_case_id(conn, no), case_no=no)
                for i, no in enumerate(drawn, start=1)])
        if tamper:
            conn.execute(OLD_CANDIDATES.update().where(OLD_CANDIDATES.c.draw_id == 2).values(weight=2.0))
        first = conn.execute(sa.select(spot_check_draw_cases.c.case_no).where(spot_check_draw_cases.c.draw_id == 1,
                                                                              spot_check_draw_cases.c.position == 1)
                             ).scalar_one()
        conn.execute(OLD_OUTCOMES.insert().values(
            id=1, draw_id=1, case_id=_case_id(conn, first), leader_report="已约谈", comment=None, rating="needs_work",
            follow_up_due=dt.date(2026, 7, 1), recorded_by="督查室", recorded_at=dt.datetime(2026, 6, 1, 16)))
        conn.execute(OLD_REPORTS.insert().values(id=1, outcome_id=1, case_id=_case_id(conn, first), progress="已协调",
                                                 reported_by="乡镇", reported_at=dt.datetime(2026, 6, 20, 9)))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path_factory):
    url, drop = _make_database(request.param, tmp_path_factory)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()
    drop_database(drop)


def test_upgrading_seals_the_old_records_and_drops_the_secrets(empty_database):
    engine = empty_database
    _database_at_0002(engine)
    before, after, _ = upgrade_database(engine)
    assert (before, after) == ("0002", migrate.head())  # through 0003 (and any later revision)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("meetings")}
        commitments = dict(conn.execute(sa.select(meetings.c.id, meetings.c.seed_commitment)).all())
        stored = _stored(conn)
        by_hand = hand_chain(conn)
        first, loose = verify_draw(conn, 1), verify_draw(conn, 2)
        values = _every_value(conn)
    assert "secret_seed" not in columns
    # Meeting #1 was drawn (its secret is in the draw's seed); #2's secret was in clear
    # and never used: its commitment is cleared, it cannot be drawn.
    assert commitments == {1: hashlib.sha256(S1.encode()).hexdigest(), 2: None}
    assert not any(S2 in value or S2.replace("-", "") in value for value in values)
    # Oldest first: draw #1 (10:00), draw #2 (11:00), the outcome (16:00), the report.
    assert [(seq, kind, i) for seq, kind, i, _ in stored] == [(1, "draw", 1), (2, "draw", 2), (3, "outcome", 1),
                                                              (4, "follow_up", 1)]
    assert by_hand == stored  # sealed in the documented format
    assert first.ok and loose.ok, (first.checks, loose.checks)
    assert {c["check"]: c["ok"] for c in first.checks}["outcomes"]
    with pytest.raises(DrawError, match="督查会 #2 没有会前承诺值"):
        actions.draw(engine, _legacy_supervisor(engine), _pool(engine), spec=DrawSpec(n=1), region_code=CITY,
                     meeting_id=2, secret=S2)


def _legacy_supervisor(engine):
    from dashboard.permissions import Actor

    with engine.connect() as conn:
        return Actor(name="supervisor", role="supervision", scope=scope_for(conn), display_name="督查室", channel="cli")


def test_upgrading_does_not_launder_an_edited_draw(empty_database):
    engine = empty_database
    _database_at_0002(engine, tamper=True)  # draw #2 edited before the upgrade
    upgrade_database(engine)
    with engine.connect() as conn:
        digests = dict(conn.execute(sa.select(spot_check_draws.c.id, spot_check_draws.c.record_digest)).all())
        first, loose = verify_draw(conn, 1), verify_draw(conn, 2)
    assert digests[1] is not None and digests[2] is None  # left unsealed: still reported
    record = next(c for c in loose.checks if c["check"] == "record")
    assert not loose.ok and "没有存证摘要" in record["detail"]
    checks = {c["check"]: c for c in first.checks}
    assert checks["record"]["ok"] and not checks["chain"]["ok"] and "抽查记录 #2" in checks["chain"]["detail"]


def test_a_current_database_still_holding_secrets_in_clear_is_refused(writable_city):
    _, engine = writable_city
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE meetings ADD COLUMN secret_seed VARCHAR(64)"))
    with pytest.raises(OutdatedDatabase, match=r"已废弃的字段 meetings\.secret_seed"):
        upgrade_database(engine)


def test_a_new_database_has_the_chain_columns_and_the_sample_city_loads(tmp_path):
    from entrypoints.setup import ensure_database, initialise

    engine = db.make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    initialise(engine, sample=True, cases=300)
    columns = {t: {c["name"] for c in sa.inspect(engine).get_columns(t)}
               for t in ("meetings", "spot_check_draws", "spot_check_candidates", "meeting_outcomes",
                         "follow_up_reports")}
    assert "public_value_rule" in columns["meetings"] and "secret_seed" not in columns["meetings"]
    assert {"chain_seq", "record_digest"} <= columns["spot_check_draws"] & columns["meeting_outcomes"] \
        & columns["follow_up_reports"]
    assert "case_id" in columns["spot_check_candidates"]
    assert ensure_database(engine) is False  # the next start upgrades it without complaint
    engine.dispose()
