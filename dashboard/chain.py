"""The record chain of spot checks (存证链): every draw, meeting outcome and follow-up
report, in the order they were stored, each sealed by a digest over all its stored
fields and the digest of the record before it.

Format, recomputable with any SHA-256 tool and a JSON library:

    digest(k) = SHA-256( digest(k-1) + canonical JSON of content(k) )   UTF-8; digest(0) = ""

Canonical JSON: keys sorted, separators "," and ":" (no spaces), non-ASCII characters as
they are; datetimes written "YYYY-MM-DD HH:MM:SS", dates "YYYY-MM-DD", weights as floats.

- a draw: {"kind": "draw", "record": every column of `spot_check_draws` but
  `record_digest`, "drawn": [[position, case_id, case_no], …] in draw order,
  "candidates": [[case_no, case_id, county_code, weight], …] by case number (code
  point order),
  "meeting": every column of its meeting (null without one)};
- a meeting outcome: {"kind": "outcome", "record": every column of `meeting_outcomes`
  but `record_digest`};
- a follow-up report: {"kind": "follow_up", "record": every column of
  `follow_up_reports` but `record_digest`}.

`chain_seq` (1, 2, 3 … over the three kinds together) is one of the columns, so a record
cannot be moved within the chain; case ids and numbers are both covered, since pages,
agendas and exclusions join on the ids.

What it shows: a record edited in the database (any field, a drawn or candidate row, the
meeting) no longer matches its digest; a record removed from the middle breaks the
record after it. What it cannot show on its own: that the newest records were removed,
or that someone with write access rewrote a record and recomputed every digest after it
(the chain is then consistent again, with another head). Both are caught by comparing
with a copy of the chain's length and head written down earlier (the minutes, the
agenda): `check_head`.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.models import (
    follow_up_reports,
    meeting_outcomes,
    meetings,
    spot_check_candidates,
    spot_check_draw_cases,
    spot_check_draws,
)

KINDS = {"draw": spot_check_draws, "outcome": meeting_outcomes, "follow_up": follow_up_reports}
KIND_NAMES = {"draw": "抽查记录", "outcome": "会后记录", "follow_up": "跟进情况"}
# Serialises appends to the chain on PostgreSQL (any constant unique to this use).
LOCK_KEY = 5_250_417
DIGEST_LENGTH = 64


def canonical(content: dict) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def link_digest(previous: str | None, content: dict) -> str:
    return hashlib.sha256(((previous or "") + canonical(content)).encode()).hexdigest()


def _record(table: sa.Table, row) -> dict:
    return {column.name: row[column.name] for column in table.columns if column.name != "record_digest"}


def draw_content(row, drawn, candidates, meeting) -> dict:
    """The content of a draw from its stored row, drawn rows, candidate rows and meeting row."""
    return {
        "kind": "draw",
        "record": _record(spot_check_draws, row),
        "drawn": [[int(r["position"]), r["case_id"], r["case_no"]]
                  for r in sorted(drawn, key=lambda r: r["position"])],
        "candidates": [[r["case_no"], r["case_id"], r["county_code"],
                        None if r["weight"] is None else float(r["weight"])]
                       for r in sorted(candidates, key=lambda r: r["case_no"])],
        "meeting": None if meeting is None else _record(meetings, meeting),
    }


def record_content(kind: str, row) -> dict:
    """The content of an outcome or a follow-up report from its stored row."""
    return {"kind": kind, "record": _record(KINDS[kind], row)}


# ------------------------------------------------------------------ appending


def lock(conn: Connection) -> None:
    """Serialise appends to the chain until the transaction ends, so that two records
    stored at the same moment cannot both chain to the same previous record."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:  # SQLite has one writer at a time: take the write lock now, before reading
        conn.execute(spot_check_draws.update().where(sa.false())
                     .values(record_digest=spot_check_draws.c.record_digest))


def _head(conn: Connection) -> tuple[int, str | None]:
    """The newest link's place and digest (0, None on an empty chain)."""
    heads = [conn.execute(sa.select(table.c.chain_seq, table.c.record_digest)
                          .where(table.c.chain_seq.is_not(None))
                          .order_by(table.c.chain_seq.desc()).limit(1)).first()
             for table in KINDS.values()]
    heads = [h for h in heads if h is not None]
    if not heads:
        return 0, None
    newest = max(heads, key=lambda h: h[0])
    return int(newest[0]), newest[1]


def next_link(conn: Connection) -> tuple[int, str | None]:
    """Lock the chain and return the place of the record about to be stored and the
    digest it chains to. Store the record with `chain_seq` = that place, then `seal` it."""
    lock(conn)
    seq, digest = _head(conn)
    return seq + 1, digest


def seal(conn: Connection, kind: str, record_id: int, previous: str | None) -> str:
    """Compute the stored record's digest from what the database now holds (so that it
    is exactly what verification will read back) and store it."""
    table = KINDS[kind]
    row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().one()
    if kind == "draw":
        drawn, candidates = children(conn, [record_id])
        meeting = _meeting_rows(conn, [row["meeting_id"]]).get(row["meeting_id"])
        content = draw_content(row, drawn.get(record_id, []), candidates.get(record_id, []), meeting)
    else:
        content = record_content(kind, row)
    digest = link_digest(previous, content)
    conn.execute(table.update().where(table.c.id == record_id).values(record_digest=digest))
    return digest


# ------------------------------------------------------------------ verifying


def children(conn: Connection, draw_ids: list[int] | None = None) -> tuple[dict, dict]:
    """Drawn and candidate rows by draw id (of the given draws, or of all)."""
    drawn, candidates = defaultdict(list), defaultdict(list)
    for table, into in ((spot_check_draw_cases, drawn), (spot_check_candidates, candidates)):
        stmt = sa.select(table)
        if draw_ids is not None:
            stmt = stmt.where(table.c.draw_id.in_(draw_ids))
        for row in conn.execute(stmt).mappings():
            into[row["draw_id"]].append(row)
    return drawn, candidates


def _meeting_rows(conn: Connection, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {row["id"]: row for row in conn.execute(sa.select(meetings).where(meetings.c.id.in_(ids))).mappings()}


@dataclass
class Link:
    kind: str
    record_id: int
    seq: int | None
    digest: str | None
    row: dict
    ok: bool = False
    problem: str | None = None

    @property
    def label(self) -> str:
        place = f"第 {self.seq} 条" if self.seq is not None else "未入链"
        return f"{place}（{KIND_NAMES[self.kind]} #{self.record_id}）"


@dataclass
class ChainReport:
    links: list[Link] = field(default_factory=list)  # chained in order, then unchained ones

    @property
    def chained(self) -> list[Link]:
        return [link for link in self.links if link.seq is not None]

    @property
    def length(self) -> int:
        return len(self.chained)

    @property
    def head(self) -> Link | None:
        chained = self.chained
        return chained[-1] if chained else None

    @property
    def ok(self) -> bool:
        return all(link.ok for link in self.links)

    @property
    def broken(self) -> list[Link]:
        return [link for link in self.links if not link.ok]

    def find(self, kind: str, record_id: int) -> Link | None:
        return next((link for link in self.links if link.kind == kind and link.record_id == record_id), None)

    def counts(self) -> dict[str, int]:
        return {kind: sum(link.kind == kind for link in self.links) for kind in KINDS}

    def summary(self) -> dict:
        """Length, head and counts, for JSON and the minutes."""
        head = self.head
        newest_draw = max((link.record_id for link in self.links if link.kind == "draw"), default=None)
        counts = self.counts()
        return {
            "length": self.length, "head_digest": head.digest if head else None,
            "head_kind": head.kind if head else None, "head_record_id": head.record_id if head else None,
            "head_draw_id": newest_draw, "draws": counts["draw"], "outcomes": counts["outcome"],
            "follow_ups": counts["follow_up"], "ok": self.ok,
        }


def verify_chain(conn: Connection) -> ChainReport:
    """Recompute every link of the chain in order (each against the stored digest of the
    link before it) and report which links do not match, which places are missing or
    doubled, and which records were never chained."""
    links: list[Link] = []
    for kind, table in KINDS.items():
        for row in conn.execute(sa.select(table)).mappings():
            links.append(Link(kind, row["id"], row["chain_seq"], row["record_digest"], dict(row)))
    draw_links = [link for link in links if link.kind == "draw"]
    drawn, candidates = children(conn) if draw_links else ({}, {})
    meeting_rows = _meeting_rows(conn, {link.row["meeting_id"] for link in draw_links})
    chained = sorted((link for link in links if link.seq is not None),
                     key=lambda link: (link.seq, list(KINDS).index(link.kind), link.record_id))
    previous: str | None = None
    expected = 1
    for link in chained:
        problems = []
        if link.seq > expected:
            missing = f"第 {expected} 条" if link.seq == expected + 1 else f"第 {expected}–{link.seq - 1} 条"
            problems.append(f"其前的{missing}记录缺失（被删除）")
        elif link.seq < expected:
            problems.append(f"序号 {link.seq} 与前一条重复")
        if link.kind == "draw":
            content = draw_content(link.row, drawn.get(link.record_id, []), candidates.get(link.record_id, []),
                                   meeting_rows.get(link.row["meeting_id"]))
        else:
            content = record_content(link.kind, link.row)
        if link.digest is None:
            problems.append("没有存证摘要")
        elif link_digest(previous, content) != link.digest:
            problems.append("内容与存证摘要不符（本条被改动，或其前一条被改动、删除）")
        link.ok = not problems
        link.problem = "；".join(problems) or None
        previous = link.digest
        expected = max(expected, link.seq + 1)
    unchained = [link for link in links if link.seq is None]
    for link in unchained:
        link.ok, link.problem = False, "未入存证链（没有序号），不是本系统写入的记录"
    return ChainReport(chained + sorted(unchained, key=lambda link: (link.kind, link.record_id)))


def normalise_digest(text: str | None) -> str | None:
    """A digest as written in the minutes: hex digits, case and spaces ignored."""
    if text is None:
        return None
    value = "".join(text.split()).lower()
    return value or None


def check_head(report: ChainReport, expect_head: str, expect_length: int | None = None) -> tuple[bool, str]:
    """Compare the chain with a head (and length) written down earlier: the link at that
    place must still carry that digest and every link up to it must match. A rewritten
    and recomputed chain has other digests from the rewritten record on, so a head
    written down after that record no longer appears."""
    head = normalise_digest(expect_head)
    if not head or len(head) != DIGEST_LENGTH or any(ch not in "0123456789abcdef" for ch in head):
        return False, f"纪要中的摘要应为 {DIGEST_LENGTH} 位十六进制数字，现为 {expect_head!r}。"
    chained = report.chained
    if expect_length is not None:
        if expect_length < 1:
            return False, "纪要中的条数应为正整数。"
        if expect_length > len(chained):
            return False, (f"存证链现只有 {len(chained)} 条，少于纪要记录的 {expect_length} 条："
                           "其后的记录被删除，或存证链被改写。")
        link = chained[expect_length - 1]
        if link.seq != expect_length or link.digest != head:
            return False, (f"纪要记录存证链第 {expect_length} 条的摘要为 {head[:16]}…，现为 "
                           f"{(link.digest or '（无）')[:16]}…：存证链在记入纪要之后被改写或删除。")
        position = expect_length
    else:
        position = next((i for i, link in enumerate(chained, start=1) if link.digest == head), None)
        if position is None:
            return False, (f"纪要中的摘要 {head[:16]}… 不在现存证链中：存证链在记入纪要之后被改写，"
                           "或该条及其后的记录被删除。")
    broken = [link for link in chained[:position] if not link.ok]
    if broken:
        return False, (f"纪要中的摘要是存证链第 {position} 条，但其前有记录与摘要不符："
                       + "、".join(link.label for link in broken[:5]))
    return True, f"与纪要一致：存证链第 {position} 条的摘要仍为 {head[:16]}…，此前 {position} 条均未被改动。"
