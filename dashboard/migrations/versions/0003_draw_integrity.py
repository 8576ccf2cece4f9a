"""Draw integrity: one record chain over draws, meeting outcomes and follow-up reports;
meetings keep no secret in clear.

- meetings: `public_value_rule` added, `secret_seed` dropped. A meeting not drawn yet had
  its secret in clear, readable by anyone with the database (and never shown to an
  officer): its commitment is cleared, so it can no longer be drawn (make a new one).
  The secrets of drawn meetings are in their draws' seeds anyway.
- spot_check_candidates: `case_id`, from the case table by case number.
- spot_check_draws, meeting_outcomes, follow_up_reports: `chain_seq` (unique), and
  `record_digest` for the last two.
- The records stored so far are sealed into the chain in the order they were stored
  (by time): a draw only if its digest in the previous format still matches, so that
  the new digest carries on what the old one proved; a draw whose old digest does not
  match is left without a digest, and verify-draw keeps reporting it. Outcomes and
  follow-up reports had no digest: they are covered from this upgrade on.

The chain's format is written out here as it is at this revision (`dashboard/chain.py`
documents it), so that later changes to the models do not change this migration.

Revision ID: 0003
Revises: 0002
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DRAW_COLUMNS = {
    "id": sa.Integer, "chain_seq": sa.Integer, "meeting_id": sa.Integer, "replaces_draw_id": sa.Integer,
    "redraw_reason": sa.Text, "created_at": sa.DateTime, "created_by": sa.String, "scope_code": sa.String,
    "meeting": sa.String, "method": sa.String, "params": sa.Text, "seed": sa.String, "n_requested": sa.Integer,
    "candidate_count": sa.Integer, "candidate_fingerprint": sa.String, "algorithm_version": sa.String,
}
MEETING_COLUMNS = {
    "id": sa.Integer, "title": sa.String, "scheduled_at": sa.DateTime, "scope_code": sa.String,
    "created_by": sa.String, "created_at": sa.DateTime, "seed_commitment": sa.String,
    "public_value_rule": sa.String, "revealed_at": sa.DateTime,
}
OUTCOME_COLUMNS = {
    "id": sa.Integer, "chain_seq": sa.Integer, "draw_id": sa.Integer, "case_id": sa.Integer,
    "leader_report": sa.Text, "comment": sa.Text, "rating": sa.String, "follow_up_due": sa.Date,
    "recorded_by": sa.String, "recorded_at": sa.DateTime,
}
REPORT_COLUMNS = {
    "id": sa.Integer, "chain_seq": sa.Integer, "outcome_id": sa.Integer, "case_id": sa.Integer,
    "progress": sa.Text, "reported_by": sa.String, "reported_at": sa.DateTime,
}


def _table(name: str, columns: dict, chained: bool = True) -> sa.TableClause:
    """The table as it is at this revision (typed, so that dates read back as dates)."""
    if chained:
        columns = {**columns, "record_digest": sa.String}
    return sa.table(name, *(sa.column(column, kind) for column, kind in columns.items()))


def _canonical(content: dict) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def _digest(previous, content: dict) -> str:
    return hashlib.sha256(((previous or "") + _canonical(content)).encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("meetings", sa.Column("public_value_rule", sa.String(length=100), nullable=True))
    op.add_column("spot_check_candidates", sa.Column("case_id", sa.Integer(), nullable=True))
    op.add_column("spot_check_draws", sa.Column("chain_seq", sa.Integer(), nullable=True))
    for table in ("meeting_outcomes", "follow_up_reports"):
        op.add_column(table, sa.Column("chain_seq", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("record_digest", sa.String(length=64), nullable=True))

    draws = _table("spot_check_draws", DRAW_COLUMNS)
    meetings = _table("meetings", {**MEETING_COLUMNS, "secret_seed": sa.String}, chained=False)
    outcomes = _table("meeting_outcomes", OUTCOME_COLUMNS)
    reports = _table("follow_up_reports", REPORT_COLUMNS)
    candidates = sa.table("spot_check_candidates", sa.column("draw_id", sa.Integer), sa.column("case_no", sa.String),
                          sa.column("case_id", sa.Integer), sa.column("county_code", sa.String),
                          sa.column("weight", sa.Float))
    drawn = sa.table("spot_check_draw_cases", sa.column("draw_id", sa.Integer), sa.column("position", sa.Integer),
                     sa.column("case_id", sa.Integer), sa.column("case_no", sa.String))
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("case_no", sa.String))

    # Candidates: the case id of each case number.
    bind.execute(candidates.update().values(case_id=sa.select(cases.c.id).where(cases.c.case_no == candidates.c.case_no)
                                            .scalar_subquery()))
    unknown = bind.execute(sa.select(sa.func.count()).select_from(candidates)
                           .where(candidates.c.case_id.is_(None))).scalar_one()
    if unknown:
        raise RuntimeError(f"{unknown} 个抽查候选案件的编号在案件表中不存在，无法补记案件 id。")

    def children(draw_id):
        rows_drawn = bind.execute(sa.select(drawn).where(drawn.c.draw_id == draw_id)).mappings().all()
        rows_pool = bind.execute(sa.select(candidates).where(candidates.c.draw_id == draw_id)).mappings().all()
        return (sorted(rows_drawn, key=lambda r: r["position"]), sorted(rows_pool, key=lambda r: r["case_no"]))

    # Which stored draws still match their digest in the previous format.
    commitments = dict(bind.execute(sa.select(meetings.c.id, meetings.c.seed_commitment)).all())
    intact, previous = set(), None
    for row in bind.execute(sa.select(draws).order_by(draws.c.id)).mappings().all():
        rows_drawn, rows_pool = children(row["id"])
        old = {
            "created_at": str(row["created_at"]), "created_by": row["created_by"], "scope_code": row["scope_code"],
            "meeting_id": row["meeting_id"], "meeting": row["meeting"], "method": row["method"],
            "params": row["params"], "seed": row["seed"], "n_requested": row["n_requested"],
            "candidate_count": row["candidate_count"], "candidate_fingerprint": row["candidate_fingerprint"],
            "algorithm_version": row["algorithm_version"], "replaces_draw_id": row["replaces_draw_id"],
            "redraw_reason": row["redraw_reason"], "drawn": [r["case_no"] for r in rows_drawn],
            "candidates": [[r["case_no"], r["county_code"], float(r["weight"])] for r in rows_pool],
            "seed_commitment": commitments.get(row["meeting_id"]),
        }
        if row["record_digest"] is not None and _digest(previous, old) == row["record_digest"]:
            intact.add(row["id"])
        previous = row["record_digest"]

    # Meetings whose secret was stored in clear and not yet used: no longer drawable.
    used = sa.select(draws.c.meeting_id).where(draws.c.meeting_id.is_not(None))
    bind.execute(meetings.update().where(meetings.c.secret_seed.is_not(None), meetings.c.id.not_in(used))
                 .values(seed_commitment=None))
    if sqlite:  # SQLite ≥ 3.35 drops a column in place (a rebuilt table would trip the foreign keys)
        op.execute("ALTER TABLE meetings DROP COLUMN secret_seed")
    else:
        op.drop_column("meetings", "secret_seed")
    meetings = _table("meetings", MEETING_COLUMNS, chained=False)

    # Seal everything stored so far into the chain, oldest first.
    records = [(row.created_at, 0, row.id) for row in bind.execute(sa.select(draws.c.id, draws.c.created_at))]
    records += [(row.recorded_at, 1, row.id) for row in bind.execute(sa.select(outcomes.c.id, outcomes.c.recorded_at))]
    records += [(row.reported_at, 2, row.id) for row in bind.execute(sa.select(reports.c.id, reports.c.reported_at))]
    tables = (draws, outcomes, reports)
    kinds = ("draw", "outcome", "follow_up")
    previous = None
    for seq, (_, kind, record_id) in enumerate(sorted(records), start=1):
        table = tables[kind]
        bind.execute(table.update().where(table.c.id == record_id).values(chain_seq=seq))
        row = bind.execute(sa.select(table).where(table.c.id == record_id)).mappings().one()
        content = {"kind": kinds[kind], "record": {k: v for k, v in row.items() if k != "record_digest"}}
        if kind == 0:
            rows_drawn, rows_pool = children(record_id)
            meeting = bind.execute(sa.select(meetings).where(meetings.c.id == row["meeting_id"])).mappings().first()
            content["drawn"] = [[r["position"], r["case_id"], r["case_no"]] for r in rows_drawn]
            content["candidates"] = [[r["case_no"], r["case_id"], r["county_code"], float(r["weight"])]
                                     for r in rows_pool]
            content["meeting"] = dict(meeting) if meeting else None
        digest = None if kind == 0 and record_id not in intact else _digest(previous, content)
        bind.execute(table.update().where(table.c.id == record_id).values(record_digest=digest))
        previous = digest

    with op.batch_alter_table("spot_check_candidates") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("spot_check_candidates_case_id_fkey", "cases", ["case_id"], ["id"])
    for table in ("spot_check_draws", "meeting_outcomes", "follow_up_reports"):
        op.create_index(op.f(f"ix_{table}_chain_seq"), table, ["chain_seq"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("数据库不支持降级：请从备份恢复。")
