"""Leader board indexes. Case steps indexed by case and time: the last recorded step of
each case (days since the last step on a leader's backlog cases) is one index seek per
case instead of reading every step of it; it replaces the index on case_id alone, which
the new one covers (its first column). The cases' leader index also holds what the
board counts (county, backlog flag, registration and resolution dates) and the case id,
so the board reads the index alone (on PostgreSQL too: an index-only scan).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_events_case_at", "case_events", ["case_id", "at"])
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_index("ix_cases_leader", table_name="cases")
    op.create_index("ix_cases_leader", "cases",
                    ["leader_id", "county_code", "is_backlog", "registered_on", "resolved_on", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_leader", table_name="cases")
    op.create_index("ix_cases_leader", "cases", ["leader_id"])
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.drop_index("ix_case_events_case_at", table_name="case_events")
