"""Spot-check draws (随机抽查): a fair, reproducible random draw of unresolved cases.

Algorithm `sha256-rank-v1`: every candidate gets the key SHA-256("<seed>|<case_no>");
candidates are taken in ascending key order. Anyone can recompute a draw from its seed
and candidate list with any SHA-256 tool, and every candidate is equally likely to be
drawn. With one-per-county, each county's smallest-key case is taken first (the counties
with the smallest such keys when N is below the number of counties), then the rest of
the places go to the smallest keys among the remaining candidates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from dashboard import config
from dashboard.models import spot_check_candidates, spot_check_draw_cases, spot_check_draws

ALGORITHM_VERSION = "sha256-rank-v1"


class DrawError(ValueError):
    """A draw that cannot be made; the message is for the user, in Chinese."""


@dataclass(frozen=True)
class Candidate:
    case_id: int
    case_no: str
    county_code: str


def new_seed() -> str:
    """A fresh 12-digit seed from the operating system's random source."""
    return str(secrets.randbelow(10**12)).zfill(12)


def draw_key(seed: str, case_no: str) -> str:
    return hashlib.sha256(f"{seed}|{case_no}".encode()).hexdigest()


def fingerprint(case_numbers: Iterable[str]) -> str:
    """SHA-256 of the sorted case numbers, one per line."""
    return hashlib.sha256("\n".join(sorted(case_numbers)).encode()).hexdigest()


def select(candidates: Sequence[Candidate], n: int, seed: str, per_county: bool = False) -> list[Candidate]:
    """The drawn candidates in draw order. Pure: same inputs, same output."""
    if n < 1:
        raise DrawError("抽取数量必须至少为 1。")
    ranked = sorted(candidates, key=lambda c: (draw_key(seed, c.case_no), c.case_no))
    if not per_county:
        return ranked[:n]
    first_per_county: dict[str, Candidate] = {}
    for candidate in ranked:
        first_per_county.setdefault(candidate.county_code, candidate)
    guaranteed = [c for c in ranked if first_per_county.get(c.county_code) is c][:n]
    taken = {c.case_no for c in guaranteed}
    rest = [c for c in ranked if c.case_no not in taken][: n - len(guaranteed)]
    return guaranteed + rest


def record_draw(
    conn: Connection,
    candidates: Sequence[Candidate],
    n: int,
    *,
    seed: str | None = None,
    per_county: bool = False,
    created_by: str,
    scope_code: str,
    meeting: str | None = None,
    params: dict | None = None,
    now: dt.datetime | None = None,
) -> tuple[int, str, list[Candidate]]:
    """Draw and store the draw with its candidate list; returns (draw_id, seed, drawn).

    The caller owns the transaction (use `engine.begin()`), so a failure stores nothing.
    """
    if not candidates:
        raise DrawError("没有符合条件的未化解积案，无法抽取。请放宽筛选条件。")
    seed = (seed or "").strip() or new_seed()
    drawn = select(candidates, n, seed, per_county)
    method = "per_county" if per_county else "simple"
    draw_id = conn.execute(
        spot_check_draws.insert()
        .values(
            created_at=now or dt.datetime.combine(config.today(), dt.datetime.now().time()),
            created_by=created_by,
            scope_code=scope_code,
            meeting=meeting,
            method=method,
            params=json.dumps(params or {}, ensure_ascii=False, sort_keys=True),
            seed=seed,
            n_requested=n,
            candidate_count=len(candidates),
            candidate_fingerprint=fingerprint(c.case_no for c in candidates),
            algorithm_version=ALGORITHM_VERSION,
        )
    ).inserted_primary_key[0]
    conn.execute(
        spot_check_candidates.insert(),
        [{"draw_id": draw_id, "case_no": c.case_no, "county_code": c.county_code} for c in candidates],
    )
    conn.execute(
        spot_check_draw_cases.insert(),
        [
            {"draw_id": draw_id, "position": i, "case_id": c.case_id, "case_no": c.case_no}
            for i, c in enumerate(drawn, start=1)
        ],
    )
    return draw_id, seed, drawn

