"""Spot-check draws (随机抽查): fair, reproducible, checkable random draws.

Every candidate gets a key from SHA-256("<seed>|<case_no>"), so anyone can recompute a
draw from its seed and candidate list with any SHA-256 tool. Methods:

- `simple` (algorithm `sha256-rank-v1`): the n smallest keys; every candidate is
  equally likely.
- `stratified` (`sha256-stratified-v1`): each county first gets min(k, its candidates)
  places (counties in order of their smallest key when places run short); the other
  places go to counties in proportion to their remaining candidates (largest remainder,
  ties to the smaller county code); within a county the smallest keys are taken.
- `weighted` (`sha256-weighted-v1`): weighted sampling without replacement
  (Efraimidis–Spirakis): u = (key + 0.5) / 2^256 is uniform in (0, 1); the n smallest
  -ln(u) / weight win, so a case with twice the weight is twice as likely to be first.
- `per_county` (legacy `sha256-rank-v1` draws of the first version): each county's
  smallest key first, then the smallest remaining keys.

Drawn cases are listed in ascending key order (weighted: ascending -ln(u)/weight).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.models import (
    meetings,
    spot_check_candidates,
    spot_check_draw_cases,
    spot_check_draws,
)

ALGORITHMS = {
    "simple": "sha256-rank-v1",
    "per_county": "sha256-rank-v1",
    "stratified": "sha256-stratified-v1",
    "weighted": "sha256-weighted-v1",
}
ALGORITHM_VERSION = ALGORITHMS["simple"]
METHODS = {"simple": "简单随机", "stratified": "按县区分层", "weighted": "加权随机", "per_county": "每县区至少一件"}
WEIGHT_BY = {"age": "按积案年限（每满一年加 1）", "color": "按督办颜色（红 3、黄 2、绿 1）"}
COLOR_WEIGHTS = {"red": 3.0, "yellow": 2.0, "green": 1.0}


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


def new_seed() -> str:
    """A fresh 12-digit seed from the operating system's random source."""
    return str(secrets.randbelow(10**12)).zfill(12)


def commitment(seed: str) -> str:
    """The published SHA-256 of a seed (commit before the meeting, reveal at it)."""
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_key(seed: str, case_no: str) -> str:
    return hashlib.sha256(f"{seed}|{case_no}".encode()).hexdigest()


def fingerprint(case_numbers: Iterable[str]) -> str:
    """SHA-256 of the sorted case numbers, one per line."""
    return hashlib.sha256("\n".join(sorted(case_numbers)).encode()).hexdigest()


def age_weight(days_open: int) -> float:
    return 1.0 + max(0, int(days_open)) // 365


def _ranked(candidates: Sequence[Candidate], seed: str) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (draw_key(seed, c.case_no), c.case_no))


def _per_county_v1(ranked: list[Candidate], n: int) -> list[Candidate]:
    first: dict[str, Candidate] = {}
    for candidate in ranked:
        first.setdefault(candidate.county_code, candidate)
    guaranteed = [c for c in ranked if first.get(c.county_code) is c][:n]
    taken = {c.case_no for c in guaranteed}
    return guaranteed + [c for c in ranked if c.case_no not in taken][: n - len(guaranteed)]


def _stratified(ranked: list[Candidate], n: int, k: int) -> list[Candidate]:
    by_county: dict[str, list[Candidate]] = {}
    for candidate in ranked:  # each county's list stays in key order
        by_county.setdefault(candidate.county_code, []).append(candidate)
    order = list(by_county)  # counties by their smallest key
    places = dict.fromkeys(order, 0)
    left = n
    for county in order:  # the guaranteed minimum
        give = min(k, len(by_county[county]), left)
        places[county] += give
        left -= give
    remaining = {c: len(by_county[c]) - places[c] for c in order}
    pool = sum(remaining.values())
    if left > 0 and pool > 0:
        left = min(left, pool)
        quotas = {c: left * remaining[c] / pool for c in order}
        extra = {c: math.floor(q) for c, q in quotas.items()}
        spare = left - sum(extra.values())
        for county in sorted(order, key=lambda c: (-(quotas[c] - extra[c]), c))[:spare]:
            extra[county] += 1
        for county in order:
            places[county] += extra[county]
    chosen = [c for county in order for c in by_county[county][: places[county]]]
    position = {c.case_no: i for i, c in enumerate(ranked)}
    return sorted(chosen, key=lambda c: position[c.case_no])


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
    """The drawn candidates in draw order. Pure: same inputs, same output."""
    spec = spec or DrawSpec(n=n, method="per_county" if per_county else "simple")
    if spec.method == "weighted":
        return _weighted(candidates, seed, spec.n)
    ranked = _ranked(candidates, seed)
    if spec.method == "per_county":
        return _per_county_v1(ranked, spec.n)
    if spec.method == "stratified":
        return _stratified(ranked, spec.n, spec.min_per_county)
    return ranked[: spec.n]


# ------------------------------------------------------------ storing and verifying


def _canonical(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def record_content(row, drawn_case_numbers: Sequence[str]) -> dict:
    """The fields of a stored draw that its digest covers."""
    return {
        "created_at": str(row["created_at"]), "created_by": row["created_by"],
        "scope_code": row["scope_code"], "meeting_id": row["meeting_id"], "meeting": row["meeting"],
        "method": row["method"], "params": row["params"], "seed": row["seed"],
        "n_requested": row["n_requested"], "candidate_count": row["candidate_count"],
        "candidate_fingerprint": row["candidate_fingerprint"],
        "algorithm_version": row["algorithm_version"], "replaces_draw_id": row["replaces_draw_id"],
        "redraw_reason": row["redraw_reason"], "drawn": list(drawn_case_numbers),
    }


def chain_digest(previous_digest: str | None, content: dict) -> str:
    return hashlib.sha256(((previous_digest or "") + _canonical(content)).encode()).hexdigest()


def _previous_digest(conn: Connection, before_id: int | None = None) -> str | None:
    stmt = sa.select(spot_check_draws.c.record_digest).order_by(spot_check_draws.c.id.desc()).limit(1)
    if before_id is not None:
        stmt = stmt.where(spot_check_draws.c.id < before_id)
    return conn.execute(stmt).scalar()


def meeting_seed(conn: Connection, meeting_id: int) -> tuple[str, str]:
    """Reveal a meeting's committed seed; returns (seed, commitment)."""
    row = conn.execute(sa.select(meetings).where(meetings.c.id == meeting_id)).mappings().first()
    if row is None:
        raise DrawError(f"督查会 #{meeting_id} 不存在。")
    if not row["secret_seed"]:
        raise DrawError(f"督查会 #{meeting_id} 没有事先承诺的种子，请手工输入或自动生成种子。")
    if row["revealed_at"] is None:
        conn.execute(meetings.update().where(meetings.c.id == meeting_id).values(revealed_at=dt.datetime.now()))
    return row["secret_seed"], row["seed_commitment"]


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

    The caller owns the transaction (use `engine.begin()`), so a failure stores nothing.
    """
    spec = spec or DrawSpec(n=n, method="per_county" if per_county else "simple")
    if not candidates:
        raise DrawError("没有符合条件的未化解积案，无法抽取。请放宽筛选条件。")
    if replaces_draw_id is not None:
        exists = conn.execute(sa.select(spot_check_draws.c.id).where(spot_check_draws.c.id == replaces_draw_id)).scalar()
        if exists is None:
            raise DrawError(f"要替换的抽查记录 #{replaces_draw_id} 不存在。")
        if not (redraw_reason or "").strip():
            raise DrawError("重新抽取必须写明理由。")
    seed = (seed or "").strip() or new_seed()
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
    row["record_digest"] = chain_digest(_previous_digest(conn), record_content(row, [c.case_no for c in drawn]))
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

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})


def verify_draw(conn: Connection, draw_id: int) -> Verification:
    """Recompute a stored draw from its seed and stored candidate list and compare."""
    row = conn.execute(sa.select(spot_check_draws).where(spot_check_draws.c.id == draw_id)).mappings().first()
    if row is None:
        raise DrawError(f"抽查记录 #{draw_id} 不存在。")
    result = Verification(draw_id)
    candidates = [
        Candidate(0, r.case_no, r.county_code, r.weight if r.weight is not None else 1.0)
        for r in conn.execute(sa.select(spot_check_candidates).where(spot_check_candidates.c.draw_id == draw_id))
    ]
    stored = conn.execute(
        sa.select(spot_check_draw_cases.c.case_no)
        .where(spot_check_draw_cases.c.draw_id == draw_id)
        .order_by(spot_check_draw_cases.c.position)
    ).scalars().all()
    print_fp = fingerprint(c.case_no for c in candidates)
    result.add("candidates", print_fp == row["candidate_fingerprint"] and len(candidates) == row["candidate_count"],
               f"候选清单 {len(candidates)} 件，指纹 {print_fp[:16]}…，记录为 {row['candidate_fingerprint'][:16]}…")
    params = json.loads(row["params"] or "{}")
    known = row["algorithm_version"] == ALGORITHMS.get(row["method"])
    if known:
        spec = DrawSpec(n=row["n_requested"], method=row["method"],
                        min_per_county=int(params.get("min_per_county", 1)), weight_by=params.get("weight_by"))
        recomputed = [c.case_no for c in select(candidates, spec.n, row["seed"], spec=spec)]
        result.add("drawn", recomputed == list(stored),
                   "按种子重算的抽取结果与记录一致" if recomputed == list(stored)
                   else f"重算结果 {', '.join(recomputed)} 与记录 {', '.join(stored)} 不一致")
    else:
        result.add("drawn", False, f"算法版本 {row['algorithm_version']} 与方式 {row['method']} 不匹配，无法重算")
    if row["meeting_id"] is not None:
        committed = conn.execute(
            sa.select(meetings.c.seed_commitment).where(meetings.c.id == row["meeting_id"])
        ).scalar()
        if committed:
            matches = commitment(row["seed"]) == committed
            result.add("commitment", matches,
                       "种子与会前公布的承诺值（SHA-256）一致" if matches else "种子与会前公布的承诺值不一致")
    if row["record_digest"] is not None:
        expected = chain_digest(_previous_digest(conn, before_id=draw_id), record_content(row, stored))
        result.add("record", expected == row["record_digest"],
                   "记录未被改动（存证摘要一致）" if expected == row["record_digest"] else "记录内容与存证摘要不一致，可能被改动")
    return result
