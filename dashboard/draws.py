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

Seeds: no person chooses the seed of a stored draw. A generated seed carries 128
random bits (32 hex digits, grouped by four). A meeting commits before it meets: a
secret of that form (the 种子口令) is shown once to the officer who makes the meeting and
only its SHA-256, the commitment, is stored and published with the meeting notice. At
the draw the officer enters the secret, which must match the commitment; when the
meeting named a value to be announced at the meeting (`public_value_rule`: a lottery
result, dice thrown in the room), the seed is "<secret>+<value>", so that nobody, not
even the officer, knows the draw before that value is public. The meeting's first draw
uses that seed, the k-th redraw in its chain of replacements "<seed>/重抽<k>", so a
redraw gives other cases and is still checkable against the same commitment. A draw
without a meeting always uses a generated seed (the actions layer takes no typed seed).

Record: each stored draw is a link of the record chain (`dashboard.chain`) whose
digest covers every field, every drawn and candidate row (case ids and numbers) and the
meeting (its commitment too), so editing any of them is detected. A hash chain cannot
show that its newest records were deleted, nor that all digests after an edit were
recomputed: verification reports the chain's length and head for the minutes and
checks a head written down earlier (`verify_draw(…, expect_head=…)`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard import chain, config
from dashboard.models import (
    cases,
    follow_up_reports,
    meeting_outcomes,
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
MAX_SEED_LENGTH = 64  # a fixed seed given by code (tests, recomputation)
REDRAW_MARK = "/重抽"
PUBLIC_MARK = "+"  # "<secret>+<value announced at the meeting>"
MAX_PUBLIC_VALUE = 16  # the seed column: 39 + 1 + 16 + "/重抽k" fits in 64
SECRET_PATTERN = re.compile(r"[0-9a-f]{4}(?:-[0-9a-f]{4}){7}")
SECRET_LENGTH = 39


class DrawError(ValueError):
    """A draw that cannot be made; the message is for the user, in Chinese."""


class SecretMismatch(DrawError):
    """A secret that does not match the meeting's commitment (audited as a failed draw)."""


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


def canonical_secret(text: str | None) -> str:
    """A meeting's secret as typed (upper or lower case, full-width, with or without
    hyphens and spaces) in its canonical form: 32 hex digits in groups of four."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text or "").lower() if ch not in "- \t\r\n")
    if len(digits) != SEED_BITS // 4 or any(ch not in "0123456789abcdef" for ch in digits):
        raise DrawError("种子口令应为 32 位十六进制数字（0–9、a–f，可带连字符），请核对建会时显示的口令。")
    return "-".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def normalise_public_value(text: str | None, rule: str | None = None) -> str:
    """The value announced at the meeting as it goes into the seed: full-width forms
    folded, spaces removed (“5 8 1” and “581” are the same value)."""
    value = "".join(unicodedata.normalize("NFKC", text or "").split())
    if not value:
        raise DrawError(f"请填写会上公布的公开值（{rule or '建会时约定的公开值'}）。")
    if len(value) > MAX_PUBLIC_VALUE:
        raise DrawError(f"公开值最长 {MAX_PUBLIC_VALUE} 个字符（空格不计），现为 {len(value)} 个。")
    if any(ch in value for ch in "/|"):
        raise DrawError("公开值不能含“/”或“|”，请只写数字或文字，例如 20260701 或 581。")
    return value


def meeting_seed(secret: str, public_value: str | None = None) -> str:
    """The seed of a meeting's first draw: its secret, with the announced value if any."""
    return secret if public_value is None else f"{secret}{PUBLIC_MARK}{public_value}"


def split_seed(seed: str, depth: int) -> tuple[str, str | None] | None:
    """(secret, announced value) of a meeting draw's seed at redraw depth `depth`, or
    None when the seed does not have that form."""
    suffix = redraw_seed("", depth)
    if not seed.endswith(suffix):
        return None
    base = seed[: len(seed) - len(suffix)]
    secret, rest = base[:SECRET_LENGTH], base[SECRET_LENGTH:]
    if not SECRET_PATTERN.fullmatch(secret):
        return None
    if not rest:
        return secret, None
    value = rest[len(PUBLIC_MARK):]
    if rest.startswith(PUBLIC_MARK) and value and not any(ch in value for ch in "/|"):
        return secret, value
    return None


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


def _meeting(conn: Connection, meeting_id: int):
    row = conn.execute(sa.select(meetings).where(meetings.c.id == meeting_id)).mappings().first()
    if row is None:
        raise DrawError(f"督查会 #{meeting_id} 不存在，请用 `python -m dashboard meeting list` 查看会议编号。")
    return row


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


def _first_seed(row, secret: str | None, public_value: str | None) -> str:
    """The seed of a meeting's first draw from the secret the officer enters (checked
    against the commitment) and the value announced at the meeting."""
    meeting_id, committed = row["id"], row["seed_commitment"]
    if not (secret or "").strip():
        raise DrawError(f"督查会 #{meeting_id} 已在会前承诺随机种子：请输入建会时显示给组织人的种子口令"
                        "（32 位十六进制数字）。")
    typed = canonical_secret(secret)
    if commitment(typed) != committed:
        raise SecretMismatch(f"种子口令与督查会 #{meeting_id} 会前公布的承诺值（{committed[:16]}…）不符，未抽取。"
                             "请核对建会时显示的口令。")
    rule = row["public_value_rule"]
    if rule:
        return meeting_seed(typed, normalise_public_value(public_value, rule))
    if (public_value or "").strip():
        raise DrawError(f"督查会 #{meeting_id} 建会时没有约定会上公布的公开值，请不要填写公开值。")
    return meeting_seed(typed)


def _redraw_base(row, replaced_id: int, replaced_seed: str, depth: int, secret: str | None,
                 public_value: str | None) -> str:
    """The seed a meeting's redraw continues from: the replaced draw's, which revealed
    the secret; it must still match the commitment (and what was entered, if anything)."""
    parts = split_seed(replaced_seed, depth - 1)
    rule = row["public_value_rule"]
    if parts is None or commitment(parts[0]) != row["seed_commitment"] or (parts[1] is None) != (rule is None):
        raise DrawError(f"被替换的抽查记录 #{replaced_id} 的种子与督查会 #{row['id']} 的承诺值不符，"
                        "不能据此重新抽取。请先核验该记录（verify-draw）。")
    if (secret or "").strip() and canonical_secret(secret) != parts[0]:
        raise SecretMismatch(f"种子口令与督查会 #{row['id']} 会前公布的承诺值不符，未抽取。")
    if (public_value or "").strip() and normalise_public_value(public_value, rule) != parts[1]:
        raise DrawError(f"重新抽取沿用原抽取的公开值 {parts[1]}，不能改为其他值。")
    return meeting_seed(*parts)


def record_draw(
    conn: Connection,
    candidates: Sequence[Candidate],
    n: int,
    *,
    seed: str | None = None,
    secret: str | None = None,
    public_value: str | None = None,
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

    A meeting's draw uses its committed seed: the first from `secret` (checked against
    the commitment) and, when the meeting named one, the announced `public_value`; the
    k-th redraw "<seed>/重抽<k>" continues from the draw it replaces. A fixed `seed` is
    refused for a meeting; without a meeting it is only for code (tests, recomputing):
    the actions layer never passes one, so every draw a person makes without a meeting
    has a generated seed. A redraw belongs to the meeting of the draw it replaces, which
    must be the current draw of its chain. The caller owns the transaction
    (`engine.begin()`), so a failure stores nothing.
    """
    spec = spec or _plain_spec(n, per_county)
    fixed = (seed or "").strip() or None
    if fixed is not None and len(fixed) > MAX_SEED_LENGTH:
        raise DrawError(f"随机种子最长 {MAX_SEED_LENGTH} 个字符，现为 {len(fixed)} 个，请缩短。")
    if not candidates:
        raise DrawError("没有符合条件的未化解积案，无法抽取。请放宽筛选条件。")
    chain_seq, previous = chain.next_link(conn)  # locks: the checks below see every committed draw
    depth, replaced = 0, None
    if replaces_draw_id is not None:
        replaced = conn.execute(
            sa.select(spot_check_draws.c.meeting_id, spot_check_draws.c.seed)
            .where(spot_check_draws.c.id == replaces_draw_id)
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
    stamp = (now or dt.datetime.combine(config.today(), dt.datetime.now().time())).replace(microsecond=0)
    if meeting_id is not None:
        row = _meeting(conn, meeting_id)
        meeting = meeting or row["title"]
        if fixed is not None:
            raise DrawError(f"督查会 #{meeting_id} 的抽取只能使用会前承诺的种子（输入种子口令），不能手工输入随机种子。")
        if not row["seed_commitment"]:
            raise DrawError(f"督查会 #{meeting_id} 没有会前承诺值，不能抽取。请另建督查会并公布其承诺值。")
        if replaced is None:
            head = meeting_head(conn, meeting_id)
            if head is not None:
                raise DrawError(f"督查会 #{meeting_id} 已有抽查记录 #{head}，同一承诺种子不能再另行抽取；"
                                f"如需重新抽取，请替换 #{head} 并写明理由。")
            base = _first_seed(row, secret, public_value)
        else:
            base = _redraw_base(row, replaces_draw_id, replaced.seed, depth, secret, public_value)
        if row["revealed_at"] is None:
            conn.execute(meetings.update().where(meetings.c.id == meeting_id).values(revealed_at=stamp))
        seed = redraw_seed(base, depth)
    else:
        if (secret or "").strip() or (public_value or "").strip():
            raise DrawError("种子口令和公开值只用于督查会的抽取；不关联督查会的抽取由系统生成随机种子。")
        seed = fixed or new_seed()
    drawn = select(candidates, spec.n, seed, spec=spec)
    stored_params = {**(params or {}), "n": spec.n, "method": spec.method,
                     "min_per_county": spec.min_per_county, "weight_by": spec.weight_by}
    row = {
        "chain_seq": chain_seq,
        "created_at": stamp,
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
    draw_id = conn.execute(spot_check_draws.insert().values(**row)).inserted_primary_key[0]
    conn.execute(
        spot_check_candidates.insert(),
        [{"draw_id": draw_id, "case_no": c.case_no, "case_id": c.case_id, "county_code": c.county_code,
          "weight": c.weight} for c in candidates],
    )
    conn.execute(
        spot_check_draw_cases.insert(),
        [{"draw_id": draw_id, "position": i, "case_id": c.case_id, "case_no": c.case_no}
         for i, c in enumerate(drawn, start=1)],
    )
    chain.seal(conn, "draw", draw_id, previous)
    return draw_id, seed, drawn


@dataclass
class Verification:
    draw_id: int
    checks: list[dict] = field(default_factory=list)
    # length, position, head_draw_id, head_digest, head_kind, head_record_id, draws,
    # outcomes, follow_ups, ok (the whole chain)
    chain: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})


def _listed(labels: Sequence[str], limit: int = 5) -> str:
    return "、".join(labels[:limit]) + (f" 等 {len(labels)} 条" if len(labels) > limit else "")


def _check_cases(conn: Connection, result: Verification, drawn_rows, candidate_rows) -> None:
    """Each stored case id still names the stored case number in the case table."""
    rows = [*drawn_rows, *candidate_rows]
    ids = {r["case_id"] for r in rows if r["case_id"] is not None}
    numbers = dict(conn.execute(sa.select(cases.c.id, cases.c.case_no).where(cases.c.id.in_(ids))).all()) if ids else {}
    wrong = sorted({r["case_no"] for r in rows if numbers.get(r["case_id"]) != r["case_no"]})
    result.add("cases", not wrong,
               "抽中和候选案件的编号与案件库一致" if not wrong
               else f"案件编号与案件库中同一编号（id）的案件不一致：{_listed(wrong)}")


def _check_commitment(conn: Connection, result: Verification, row) -> None:
    meeting = conn.execute(sa.select(meetings).where(meetings.c.id == row["meeting_id"])).mappings().first()
    committed = meeting["seed_commitment"] if meeting else None
    depth = redraw_depth(conn, row["id"])
    what = f"第 {depth} 次重新抽取，种子应为“承诺种子{redraw_seed('', depth)}”" if depth else "种子"
    if not committed:
        result.add("commitment", False, f"{what}：督查会 #{row['meeting_id']} 没有会前承诺值（被删除或改动）")
        return
    parts = split_seed(row["seed"], depth)
    rule = meeting["public_value_rule"]
    matches = parts is not None and commitment(parts[0]) == committed and (parts[1] is None) == (rule is None)
    announced = f"；公开值 {parts[1]}，请与公开来源（{rule}）核对" if matches and parts[1] is not None else ""
    result.add("commitment", matches,
               f"{what}：承诺种子与会前公布的承诺值（SHA-256）一致{announced}" if matches
               else f"{what}：与会前公布的承诺值 {committed[:16]}… 不一致")


def _check_outcomes(conn: Connection, result: Verification, report: chain.ChainReport, draw_id: int,
                    drawn_ids: set) -> list[chain.Link]:
    """The draw's meeting outcomes and their follow-up reports: each matches its digest,
    names a drawn case, and a report names its outcome's case. Returns their links."""
    outcome_rows = conn.execute(sa.select(meeting_outcomes.c.id, meeting_outcomes.c.case_id)
                                .where(meeting_outcomes.c.draw_id == draw_id)).all()
    outcome_cases = {r.id: r.case_id for r in outcome_rows}
    report_rows = conn.execute(sa.select(follow_up_reports.c.id, follow_up_reports.c.outcome_id,
                                         follow_up_reports.c.case_id)
                               .where(follow_up_reports.c.outcome_id.in_(list(outcome_cases)))).all() \
        if outcome_cases else []
    links = [report.find("outcome", i) for i in outcome_cases] + [report.find("follow_up", r.id) for r in report_rows]
    links = [link for link in links if link is not None]
    problems = [f"{link.label}：{link.problem}" for link in links if not link.ok]
    problems += [f"会后记录 #{i} 的案件不在本次抽中的案件中" for i, case in outcome_cases.items() if case not in drawn_ids]
    problems += [f"跟进情况 #{r.id} 的案件与其会后记录 #{r.outcome_id} 不一致" for r in report_rows
                 if r.case_id != outcome_cases.get(r.outcome_id)]
    if not links:
        result.add("outcomes", True, "本记录尚无会后记录和跟进情况")
    else:
        result.add("outcomes", not problems,
                   f"会后记录 {len(outcome_rows)} 条、跟进情况 {len(report_rows)} 条均与存证摘要一致" if not problems
                   else "会后记录或跟进情况被改动：" + _listed(problems, 3))
    return links


def verify_draw(conn: Connection, draw_id: int, *, expect_head: str | None = None,
                expect_length: int | None = None) -> Verification:
    """Recompute a stored draw from its seed and stored candidate list and compare;
    check the seed against the meeting's commitment, the case ids against the case
    table, the draw's outcomes and follow-ups and the whole record chain, and, given the
    head (and length) written down earlier, that the chain still leads to it."""
    row = conn.execute(sa.select(spot_check_draws).where(spot_check_draws.c.id == draw_id)).mappings().first()
    if row is None:
        raise DrawError(f"抽查记录 #{draw_id} 不存在。")
    result = Verification(draw_id)
    drawn_rows, candidate_rows = (rows.get(draw_id, []) for rows in chain.children(conn, [draw_id]))
    candidates = [Candidate(r["case_id"], r["case_no"], r["county_code"], r["weight"] if r["weight"] is not None else 1.0)
                  for r in candidate_rows]
    stored = [(r["case_id"], r["case_no"]) for r in sorted(drawn_rows, key=lambda r: r["position"])]
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
        recomputed = [(c.case_id, c.case_no) for c in select(candidates, spec.n, row["seed"], spec=spec)] if spec else []
        same = recomputed == stored
        result.add("drawn", same,
                   "按种子重算的抽取结果与记录一致（案件编号和 id）" if same
                   else f"重算结果 {', '.join(no for _, no in recomputed) or '（无法重算）'} "
                   f"与记录 {', '.join(no for _, no in stored)} 不一致"
                   + ("（案件 id 不同）" if [no for _, no in recomputed] == [no for _, no in stored] else ""))
    else:
        result.add("drawn", False, f"算法版本 {row['algorithm_version']} 与方式 {row['method']} 不匹配，无法重算")
    _check_cases(conn, result, drawn_rows, candidate_rows)
    if row["meeting_id"] is not None:
        _check_commitment(conn, result, row)
    report = chain.verify_chain(conn)
    own = report.find("draw", draw_id)
    result.add("record", own.ok, "记录未被改动（存证摘要一致）" if own.ok
               else f"记录内容、抽中或候选案件、督查会与存证摘要不一致：{own.problem}")
    own_links = [own, *_check_outcomes(conn, result, report, draw_id, {case_id for case_id, _ in stored})]
    mine = {(link.kind, link.record_id) for link in own_links}
    rest = [link for link in report.links if (link.kind, link.record_id) not in mine]
    others = [link for link in rest if not link.ok]
    result.add("chain", not others,
               f"存证链其余 {len(rest)} 条记录均与摘要一致" if not others
               else "存证链中其他记录与摘要不一致：" + _listed([f"{x.label} {x.problem}" for x in others], 3))
    if expect_head is not None:
        ok, detail = chain.check_head(report, expect_head, expect_length)
        result.add("head", ok, detail)
    result.chain = {**report.summary(), "position": own.seq}
    return result


def chain_status(conn: Connection) -> dict:
    """The record chain's length, head and whether it verifies (for agendas and pages)."""
    return chain.verify_chain(conn).summary()
