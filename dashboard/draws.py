"""Spot-check draws (随机抽查): fair, reproducible, checkable random draws.

Every candidate gets a key from SHA-256("<seed>|<case_no>") (UTF-8), so anyone can
recompute a draw from its seed and candidate list with any SHA-256 tool. Methods:

- `simple` (algorithm `sha256-rank-v1`): the n smallest keys; every candidate is
  equally likely.
- `stratified` (`sha256-stratified-v1`): counties are ordered by their smallest key
  (a seed-determined order). Each county first gets min(k, its candidates). When n is
  too small for that, places go round-robin in that order (one each, then a second
  each, ...), so counties differ by at most one. The places left after the minimums go
  in proportion to each county's candidates (largest remainder, ties in county order;
  a county that runs out of candidates gets all of them and its share goes to the
  others). Within a county the smallest keys are taken.
- `weighted` (`sha256-weighted-v1`): weighted sampling without replacement
  (Efraimidis–Spirakis): u = (key + 0.5) / 2^256 is uniform in (0, 1); the n smallest
  -ln(u) / weight win, so a case with twice the weight is twice as likely to be first.

Drawn cases are listed in ascending key order (weighted: ascending -ln(u)/weight).

Seeds: a generated seed carries 128 random bits (32 hex digits, grouped by four). A
meeting commits to a seed before it meets (SHA-256 of the seed published) and reveals
it at the draw. Its first draw uses that seed; the k-th redraw in the chain of
replacements uses "<seed>/重抽<k>", so a redraw gives other cases and is still checkable
against the same commitment.

Record: each stored draw's digest is SHA-256(previous record's digest + canonical JSON
of the record, its full candidate rows and the meeting's commitment), so editing any
stored field, candidate or the commitment breaks the digest. A hash chain cannot show
that its newest records were deleted: verification reports the chain's length and head
so the meeting minutes can write them down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.models import (
    meetings,
    spot_check_candidates,
    spot_check_draw_cases,
    spot_check_draws,
)

ALGORITHMS = {  # the algorithm a new draw of each method uses
    "simple": "sha256-rank-v1",
    "stratified": "sha256-stratified-v1",
    "weighted": "sha256-weighted-v1",
}
ALGORITHM_VERSION = ALGORITHMS["simple"]
METHODS = {"simple": "简单随机", "stratified": "按县区分层", "weighted": "加权随机"}
WEIGHT_BY = {"age": "按积案年限（每满一年加 1）", "color": "按督办颜色（红 3、黄 2、绿 1）"}
COLOR_WEIGHTS = {"red": 3.0, "yellow": 2.0, "green": 1.0}
SEED_BITS = 128
MAX_SEED_LENGTH = 64  # the seed column
REDRAW_MARK = "/重抽"
# Serialises appends to the record chain on PostgreSQL (any constant unique to this use).
CHAIN_LOCK_KEY = 5_250_417


class DrawError(ValueError):
    """A draw that cannot be made; the message is for the user, in Chinese."""


@dataclass(frozen=True)
class Candidate:
    case_id: int
    case_no: str
    county_code: str
    weight: float = 1.0


@dataclass(frozen=True)
class DrawSpec:
    """How to draw: method, places, per-county minimum (stratified), weighting."""

    n: int
    method: str = "simple"
    min_per_county: int = 1
    weight_by: str | None = None  # age / color, for the weighted method

    def __post_init__(self):
        if self.n < 1:
            raise DrawError("抽取数量必须至少为 1。")
        if self.method not in ALGORITHMS:
            raise DrawError(f"抽取方式 {self.method!r} 不存在，可选：{'、'.join(ALGORITHMS)}。")
        if self.method == "stratified" and self.min_per_county < 0:
            raise DrawError("每个县区至少抽取的件数不能为负。")
        if self.weight_by is not None and self.weight_by not in WEIGHT_BY:
            raise DrawError(f"加权依据 {self.weight_by!r} 不存在，可选：{'、'.join(WEIGHT_BY)}。")


# ------------------------------------------------------------ seeds


def new_seed() -> str:
    """128 bits from the operating system's random source, as 32 hex digits in groups
    of four (easy to read aloud at the meeting)."""
    digits = secrets.token_hex(SEED_BITS // 8)
    return "-".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def commitment(seed: str) -> str:
    """The published SHA-256 of a seed (commit before the meeting, reveal at it)."""
    return hashlib.sha256(seed.encode()).hexdigest()


def redraw_seed(seed: str, k: int) -> str:
    """The seed of the k-th redraw in a chain of replacements (k = 0: the seed itself)."""
    return seed if k == 0 else f"{seed}{REDRAW_MARK}{k}"


def draw_key(seed: str, case_no: str) -> str:
    return hashlib.sha256(f"{seed}|{case_no}".encode()).hexdigest()


def fingerprint(case_numbers: Iterable[str]) -> str:
    """SHA-256 of the sorted case numbers, one per line."""
    return hashlib.sha256("\n".join(sorted(case_numbers)).encode()).hexdigest()


def age_weight(days_open: int) -> float:
    return 1.0 + max(0, int(days_open)) // 365


# ------------------------------------------------------------ selecting


def _ranked(candidates: Sequence[Candidate], seed: str) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (draw_key(seed, c.case_no), c.case_no))


def _by_county(ranked: list[Candidate]) -> dict[str, list[Candidate]]:
    """Each county's candidates in key order; counties in order of their smallest key."""
    by_county: dict[str, list[Candidate]] = {}
    for candidate in ranked:
        by_county.setdefault(candidate.county_code, []).append(candidate)
    return by_county


def _take(ranked: list[Candidate], by_county: dict[str, list[Candidate]], places: dict[str, int]) -> list[Candidate]:
    chosen = [c for county in by_county for c in by_county[county][: places[county]]]
    position = {c.case_no: i for i, c in enumerate(ranked)}
    return sorted(chosen, key=lambda c: position[c.case_no])


@dataclass(frozen=True)
class CountyShare:
    county_code: str
    candidates: int
    minimum: int  # min(k, candidates): what the county is guaranteed when n allows
    places: int


@dataclass(frozen=True)
class Allocation:
    """How a stratified draw shares its places among counties (in seed order)."""

    n: int
    k: int
    counties: tuple[CountyShare, ...]

    @property
    def places(self) -> int:
        return sum(c.places for c in self.counties)

    @property
    def short(self) -> bool:
        """Too few places to give every county its minimum."""
        return self.n < sum(c.minimum for c in self.counties)


def allocate(ranked: Sequence[Candidate], n: int, k: int) -> Allocation:
    """The places of each county in a `sha256-stratified-v1` draw (see module doc)."""
    sizes = {county: len(rows) for county, rows in _by_county(list(ranked)).items()}
    order = list(sizes)
    minimum = {c: min(k, sizes[c]) for c in order}
    places = dict.fromkeys(order, 0)
    left = min(n, sum(sizes.values()))
    if left <= sum(minimum.values()):
        # Round-robin in seed order: one each, then a second each, ... up to the minimum.
        while left:
            for county in order:
                if left and places[county] < minimum[county]:
                    places[county] += 1
                    left -= 1
    else:
        places = dict(minimum)
        left -= sum(minimum.values())
        open_ = [c for c in order if places[c] < sizes[c]]
        while left:
            total = sum(sizes[c] for c in open_)
            quotas = {c: Fraction(left * sizes[c], total) for c in open_}
            full = [c for c in open_ if quotas[c] >= sizes[c] - places[c]]
            if full:  # these take all their candidates; the others share what is left
                for county in full:
                    left -= sizes[county] - places[county]
                    places[county] = sizes[county]
                open_ = [c for c in open_ if c not in full]
                continue
            extra = {c: math.floor(q) for c, q in quotas.items()}
            spare = left - sum(extra.values())
            by_remainder = sorted(open_, key=lambda c: (-(quotas[c] - extra[c]), order.index(c)))
            for county in by_remainder[:spare]:
                extra[county] += 1
            for county in open_:
                places[county] += extra[county]
            left = 0
    return Allocation(n, k, tuple(CountyShare(c, sizes[c], minimum[c], places[c]) for c in order))


def _stratified(ranked: list[Candidate], n: int, k: int) -> list[Candidate]:
    places = {share.county_code: share.places for share in allocate(ranked, n, k).counties}
    return _take(ranked, _by_county(ranked), places)


def _weighted(candidates: Sequence[Candidate], seed: str, n: int) -> list[Candidate]:
    def score(candidate: Candidate) -> float:
        if candidate.weight <= 0:
            return math.inf
        u = (int(draw_key(seed, candidate.case_no), 16) + 0.5) / 2**256
        return -math.log(u) / candidate.weight

    return sorted(candidates, key=lambda c: (score(c), c.case_no))[:n]


def select(
    candidates: Sequence[Candidate], n: int, seed: str, per_county: bool = False,
    *, spec: DrawSpec | None = None,
) -> list[Candidate]:
    """The drawn candidates in draw order. Pure: same inputs, same output.
    `per_county`: stratified with at least one case per county (when n allows)."""
    spec = spec or _plain_spec(n, per_county)
    if spec.method == "weighted":
        return _weighted(candidates, seed, spec.n)
    ranked = _ranked(candidates, seed)
    if spec.method == "stratified":
        return _stratified(ranked, spec.n, spec.min_per_county)
    return ranked[: spec.n]


def _plain_spec(n: int, per_county: bool) -> DrawSpec:
    return DrawSpec(n=n, method="stratified", min_per_county=1) if per_county else DrawSpec(n=n, method="simple")


def candidates_from_frame(frame: pd.DataFrame, weight_by: str | None = None) -> list[Candidate]:
    """The candidates of a candidate frame (`queries.spot_check.candidate_frame`), weighted
    by its `weight_<weight_by>` column when the draw is weighted."""
    weights = frame[f"weight_{weight_by}"] if weight_by else pd.Series(1.0, index=frame.index)
    return [
        Candidate(int(row.case_id), row.case_no, row.county_code, float(weight))
        for row, weight in zip(frame.itertuples(), weights, strict=True)
    ]


def county_names_of(frame: pd.DataFrame) -> dict[str, str]:
    """County code -> name of a candidate frame (for the draw notes)."""
    return dict(zip(frame["county_code"], frame["county_name"], strict=True)) if not frame.empty else {}


def draw_notes(
    candidates: Sequence[Candidate], spec: DrawSpec, seed: str, county_names: Mapping[str, str] | None = None,
) -> list[str]:
    """What the user must know about how the places were shared (Chinese)."""
    names = county_names or {}
    notes = []
    if len(candidates) < spec.n:
        notes.append(f"候选只有 {len(candidates)} 件，少于抽取件数 {spec.n} 件，已全部抽中。")
    if spec.method != "stratified" or not candidates:
        return notes
    allocation = allocate(_ranked(candidates, seed), spec.n, spec.min_per_county)
    k = spec.min_per_county
    if allocation.short:
        need = sum(c.minimum for c in allocation.counties)
        missed = [c for c in allocation.counties if c.places == 0]
        basis = (f"{len(allocation.counties)} 个县区各 {k} 件" if all(c.candidates >= k for c in allocation.counties)
                 else f"每县区 {k} 件，候选不足 {k} 件的县区按实有件数")
        notes.append(
            f"抽取件数 {spec.n} 件少于各县区保底件数之和 {need} 件（{basis}），"
            "无法保证每县区都达到保底：已按本次种子决定的县区顺序轮流分配，各县区相差不超过 1 件。"
            + (f"未抽到的县区：{'、'.join(names.get(c.county_code, c.county_code) for c in missed)}。" if missed else "")
        )
    for share in allocation.counties:
        if share.candidates < k and share.places == share.candidates:
            notes.append(f"{names.get(share.county_code, share.county_code)}只有 {share.candidates} 件候选，"
                         f"少于每县区 {k} 件，已全部抽中。")
    return notes


# ------------------------------------------------------------ storing and verifying


def _canonical(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def record_content(
    row, drawn_case_numbers: Sequence[str], candidates: Sequence[Candidate] | None = None,
    seed_commitment: str | None = None,
) -> dict:
    """The fields of a stored draw that its digest covers: the record, the drawn cases,
    every candidate row (case number, county, weight) and the meeting's commitment."""
    return {
        "created_at": str(row["created_at"]), "created_by": row["created_by"],
        "scope_code": row["scope_code"], "meeting_id": row["meeting_id"], "meeting": row["meeting"],
        "method": row["method"], "params": row["params"], "seed": row["seed"],
        "n_requested": row["n_requested"], "candidate_count": row["candidate_count"],
        "candidate_fingerprint": row["candidate_fingerprint"],
        "algorithm_version": row["algorithm_version"], "replaces_draw_id": row["replaces_draw_id"],
        "redraw_reason": row["redraw_reason"], "drawn": list(drawn_case_numbers),
        "candidates": [[c.case_no, c.county_code, float(c.weight)]
                       for c in sorted(candidates or (), key=lambda c: c.case_no)],
        "seed_commitment": seed_commitment,
    }


def chain_digest(previous_digest: str | None, content: dict) -> str:
    return hashlib.sha256(((previous_digest or "") + _canonical(content)).encode()).hexdigest()


def _lock_chain(conn: Connection) -> None:
    """Serialise appends to the record chain until the transaction ends, so that two
    draws made at the same moment cannot both chain to the same previous record."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    else:  # SQLite has one writer at a time: take the write lock now, before reading
        conn.execute(spot_check_draws.update().where(sa.false())
                     .values(record_digest=spot_check_draws.c.record_digest))


def _previous_digest(conn: Connection, before_id: int | None = None) -> str | None:
    stmt = sa.select(spot_check_draws.c.record_digest).order_by(spot_check_draws.c.id.desc()).limit(1)
    if before_id is not None:
        stmt = stmt.where(spot_check_draws.c.id < before_id)
    return conn.execute(stmt).scalar()


def _meeting(conn: Connection, meeting_id: int):
    row = conn.execute(sa.select(meetings).where(meetings.c.id == meeting_id)).mappings().first()
    if row is None:
        raise DrawError(f"督查会 #{meeting_id} 不存在，请用 `python -m dashboard meeting list` 查看会议编号。")
    return row


def meeting_seed(conn: Connection, meeting_id: int) -> tuple[str, str]:
    """Reveal a meeting's committed seed; returns (seed, commitment)."""
    row = _meeting(conn, meeting_id)
    if not row["secret_seed"]:
        raise DrawError(f"督查会 #{meeting_id} 没有事先承诺的种子，请手工输入或自动生成种子。")
    if row["revealed_at"] is None:
        conn.execute(meetings.update().where(meetings.c.id == meeting_id).values(revealed_at=dt.datetime.now()))
    return row["secret_seed"], row["seed_commitment"]


def redraw_depth(conn: Connection, draw_id: int) -> int:
    """How many replacements lead to this draw (0: an original draw)."""
    depth, current, seen = 0, draw_id, set()
    while current is not None and current not in seen:
        seen.add(current)
        current = conn.execute(
            sa.select(spot_check_draws.c.replaces_draw_id).where(spot_check_draws.c.id == current)
        ).scalar()
        depth += current is not None
    return depth


def replaced_by(conn: Connection, draw_id: int) -> int | None:
    return conn.execute(
        sa.select(spot_check_draws.c.id).where(spot_check_draws.c.replaces_draw_id == draw_id)
        .order_by(spot_check_draws.c.id).limit(1)
    ).scalar()


def current_draw(conn: Connection, draw_id: int) -> int:
    """The draw at the end of the chain of replacements starting at `draw_id`."""
    seen = {draw_id}
    while (successor := replaced_by(conn, draw_id)) is not None and successor not in seen:
        seen.add(successor)
        draw_id = successor
    return draw_id


def meeting_head(conn: Connection, meeting_id: int) -> int | None:
    """The meeting's current draw (drawn for it and not replaced), newest first."""
    replaced = sa.select(spot_check_draws.c.replaces_draw_id).where(spot_check_draws.c.replaces_draw_id.is_not(None))
    return conn.execute(
        sa.select(spot_check_draws.c.id)
        .where(spot_check_draws.c.meeting_id == meeting_id, spot_check_draws.c.id.not_in(replaced))
        .order_by(spot_check_draws.c.id.desc()).limit(1)
    ).scalar()


def record_draw(
    conn: Connection,
    candidates: Sequence[Candidate],
    n: int,
    *,
    seed: str | None = None,
    per_county: bool = False,
    spec: DrawSpec | None = None,
    created_by: str,
    scope_code: str,
    meeting: str | None = None,
    meeting_id: int | None = None,
    replaces_draw_id: int | None = None,
    redraw_reason: str | None = None,
    params: dict | None = None,
    now: dt.datetime | None = None,
) -> tuple[int, str, list[Candidate]]:
    """Draw and store the draw with its candidate list; returns (draw_id, seed, drawn).

    A meeting with a committed seed decides the seed: its committed seed for its first
    draw, "<seed>/重抽<k>" for the k-th redraw; a typed seed is refused unless it is that
    very seed. A redraw belongs to the meeting of the draw it replaces, which must be
    the current draw of its chain. The caller owns the transaction (`engine.begin()`),
    so a failure stores nothing.
    """
    spec = spec or _plain_spec(n, per_county)
    typed = (seed or "").strip()
    if len(typed) > MAX_SEED_LENGTH:
        raise DrawError(f"随机种子最长 {MAX_SEED_LENGTH} 个字符，现为 {len(typed)} 个，请缩短。")
    if not candidates:
        raise DrawError("没有符合条件的未化解积案，无法抽取。请放宽筛选条件。")
    _lock_chain(conn)  # the checks below and the append see every committed draw
    depth = 0
    if replaces_draw_id is not None:
        replaced = conn.execute(
            sa.select(spot_check_draws.c.meeting_id).where(spot_check_draws.c.id == replaces_draw_id)
        ).first()
        if replaced is None:
            raise DrawError(f"要替换的抽查记录 #{replaces_draw_id} 不存在。")
        if (successor := replaced_by(conn, replaces_draw_id)) is not None:
            raise DrawError(f"抽查记录 #{replaces_draw_id} 已被 #{successor} 替换，不能再次替换；"
                            f"如需重新抽取，请替换当前记录 #{current_draw(conn, replaces_draw_id)}。")
        if meeting_id is None:
            meeting_id = replaced.meeting_id
        elif replaced.meeting_id != meeting_id:
            where = f"督查会 #{replaced.meeting_id}" if replaced.meeting_id is not None else "不属于任何督查会"
            raise DrawError(f"重新抽取须与被替换的记录属于同一督查会：#{replaces_draw_id} {where}，"
                            f"而本次选择了督查会 #{meeting_id}。")
        if not (redraw_reason or "").strip():
            raise DrawError("重新抽取必须写明理由。")
        depth = redraw_depth(conn, replaces_draw_id) + 1
    committed = None
    if meeting_id is not None:
        row = _meeting(conn, meeting_id)
        meeting = meeting or row["title"]
        committed = row["seed_commitment"]
        if committed:
            head = meeting_head(conn, meeting_id)
            if replaces_draw_id is None and head is not None:
                raise DrawError(f"督查会 #{meeting_id} 已有抽查记录 #{head}，同一承诺种子不能再另行抽取；"
                                f"如需重新抽取，请替换 #{head} 并写明理由。")
            if not row["secret_seed"]:
                raise DrawError(f"督查会 #{meeting_id} 只存有承诺值、没有对应的种子，无法按承诺抽取。")
            expected = redraw_seed(meeting_seed(conn, meeting_id)[0], depth)
            if typed and typed != expected:
                raise DrawError(f"督查会 #{meeting_id} 已在会前承诺随机种子（承诺值 {committed[:16]}…），"
                                "抽取必须使用该种子（重新抽取时为“承诺种子/重抽序号”），不能手工输入其他种子。"
                                "请不填种子再抽取。")
            typed = expected
    seed = typed or new_seed()
    drawn = select(candidates, spec.n, seed, spec=spec)
    stored_params = {**(params or {}), "n": spec.n, "method": spec.method,
                     "min_per_county": spec.min_per_county, "weight_by": spec.weight_by}
    row = {
        "created_at": (now or dt.datetime.combine(config.today(), dt.datetime.now().time())).replace(microsecond=0),
        "created_by": created_by,
        "scope_code": scope_code,
        "meeting_id": meeting_id,
        "meeting": meeting,
        "method": spec.method,
        "params": json.dumps(stored_params, ensure_ascii=False, sort_keys=True),
        "seed": seed,
        "n_requested": spec.n,
        "candidate_count": len(candidates),
        "candidate_fingerprint": fingerprint(c.case_no for c in candidates),
        "algorithm_version": ALGORITHMS[spec.method],
        "replaces_draw_id": replaces_draw_id,
        "redraw_reason": (redraw_reason or "").strip() or None,
    }
    content = record_content(row, [c.case_no for c in drawn], candidates, committed)
    row["record_digest"] = chain_digest(_previous_digest(conn), content)
    draw_id = conn.execute(spot_check_draws.insert().values(**row)).inserted_primary_key[0]
    conn.execute(
        spot_check_candidates.insert(),
        [{"draw_id": draw_id, "case_no": c.case_no, "county_code": c.county_code, "weight": c.weight}
         for c in candidates],
    )
    conn.execute(
        spot_check_draw_cases.insert(),
        [{"draw_id": draw_id, "position": i, "case_id": c.case_id, "case_no": c.case_no}
         for i, c in enumerate(drawn, start=1)],
    )
    return draw_id, seed, drawn


@dataclass
class Verification:
    draw_id: int
    checks: list[dict] = field(default_factory=list)
    chain: dict = field(default_factory=dict)  # length, position, head_draw_id, head_digest

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})


def _stored_candidates(conn: Connection, draw_id: int) -> list[Candidate]:
    return [
        Candidate(0, r.case_no, r.county_code, r.weight if r.weight is not None else 1.0)
        for r in conn.execute(sa.select(spot_check_candidates).where(spot_check_candidates.c.draw_id == draw_id))
    ]


def _stored_drawn(conn: Connection, draw_id: int) -> list[str]:
    return list(conn.execute(
        sa.select(spot_check_draw_cases.c.case_no)
        .where(spot_check_draw_cases.c.draw_id == draw_id)
        .order_by(spot_check_draw_cases.c.position)
    ).scalars())


def _commitment_of(conn: Connection, meeting_id: int | None) -> str | None:
    if meeting_id is None:
        return None
    return conn.execute(sa.select(meetings.c.seed_commitment).where(meetings.c.id == meeting_id)).scalar()


def _digest_matches(conn: Connection, row, previous: str | None) -> bool:
    """Whether the stored digest is the one recomputed from the record as it stands
    (a record without a digest never matches: removing it is an edit too)."""
    content = record_content(row, _stored_drawn(conn, row["id"]), _stored_candidates(conn, row["id"]),
                             _commitment_of(conn, row["meeting_id"]))
    return row["record_digest"] is not None and chain_digest(previous, content) == row["record_digest"]


def verify_draw(conn: Connection, draw_id: int) -> Verification:
    """Recompute a stored draw from its seed and stored candidate list and compare;
    check the seed against the meeting's commitment and the record chain up to it."""
    row = conn.execute(sa.select(spot_check_draws).where(spot_check_draws.c.id == draw_id)).mappings().first()
    if row is None:
        raise DrawError(f"抽查记录 #{draw_id} 不存在。")
    result = Verification(draw_id)
    candidates = _stored_candidates(conn, draw_id)
    stored = _stored_drawn(conn, draw_id)
    print_fp = fingerprint(c.case_no for c in candidates)
    result.add("candidates", print_fp == row["candidate_fingerprint"] and len(candidates) == row["candidate_count"],
               f"候选清单 {len(candidates)} 件，指纹 {print_fp[:16]}…，记录为 {row['candidate_fingerprint'][:16]}…")
    params = json.loads(row["params"] or "{}")
    if ALGORITHMS.get(row["method"]) == row["algorithm_version"]:
        try:
            spec = DrawSpec(n=row["n_requested"], method=row["method"],
                            min_per_county=int(params.get("min_per_county", 1)), weight_by=params.get("weight_by"))
        except (DrawError, TypeError, ValueError):
            spec = None
        recomputed = [c.case_no for c in select(candidates, spec.n, row["seed"], spec=spec)] if spec else []
        result.add("drawn", recomputed == stored,
                   "按种子重算的抽取结果与记录一致" if recomputed == stored
                   else f"重算结果 {', '.join(recomputed) or '（无法重算）'} 与记录 {', '.join(stored)} 不一致")
    else:
        result.add("drawn", False, f"算法版本 {row['algorithm_version']} 与方式 {row['method']} 不匹配，无法重算")
    committed = _commitment_of(conn, row["meeting_id"])
    if committed:
        depth = redraw_depth(conn, draw_id)
        suffix = redraw_seed("", depth)
        base = row["seed"][: len(row["seed"]) - len(suffix)] if row["seed"].endswith(suffix) else None
        matches = base is not None and commitment(base) == committed
        what = f"第 {depth} 次重新抽取，种子应为“承诺种子{suffix}”" if depth else "种子"
        result.add("commitment", matches,
                   f"{what}：承诺种子与会前公布的承诺值（SHA-256）一致" if matches
                   else f"{what}：与会前公布的承诺值 {committed[:16]}… 不一致")
    ok = _digest_matches(conn, row, _previous_digest(conn, before_id=draw_id))
    result.add("record", ok, "记录未被改动（存证摘要一致）" if ok
               else "记录内容、候选清单或承诺值与存证摘要不一致：本记录被改动，或其前一条记录被删除")
    _check_chain(conn, draw_id, result)
    return result


def _check_chain(conn: Connection, draw_id: int, result: Verification) -> None:
    """Every record before this one still matches its digest (nothing earlier edited or
    deleted); report the chain's length and head for the minutes."""
    rows = conn.execute(sa.select(spot_check_draws).order_by(spot_check_draws.c.id)).mappings().all()
    head = rows[-1]
    position = next(i for i, r in enumerate(rows, start=1) if r["id"] == draw_id)
    result.chain = {"length": len(rows), "position": position, "head_draw_id": head["id"],
                    "head_digest": head["record_digest"]}
    previous, broken = None, []
    for r in rows[: position - 1]:
        if not _digest_matches(conn, r, previous):
            broken.append(r["id"])
        previous = r["record_digest"]
    result.add("chain", not broken,
               f"存证链第 1–{position - 1} 条记录均与摘要一致" if not broken and position > 1
               else "本记录是存证链的第一条" if not broken
               else "存证链中之前的记录 " + "、".join(f"#{i}" for i in broken) + " 与摘要不一致（被改动或其前一条被删除）")
