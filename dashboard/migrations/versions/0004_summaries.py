"""Summaries kept in step with the cases (issue 13): `case_summaries` (counts by month ×
county × township × domain × channel, with rollups over every domain / channel: '*'), `case_colors` (the three-color status of every
case carrying a color on one date) and `summary_state`. A collective visit (集体访) is a
visit (来访) of five or more persons: the stored flag is corrected for letters and online
cases with five names. The counts are built here from the existing cases; the colors by
`upgrade_database` right after (they are for today's date).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MEASURES = (
    "received", "online", "collective_batches", "collective_persons", "province_batches", "province_persons",
    "beijing_batches", "beijing_persons", "accepted", "timely", "closed", "on_time", "evaluated", "satisfied",
    "backlog_registered", "backlog_resolved",
)


def upgrade() -> None:
    op.create_table(
        "case_summaries",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("domain", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in MEASURES],
        sa.PrimaryKeyConstraint("domain", "channel", "month", "county_code", "township_code"),
    )
    op.create_table(
        "case_colors",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("domain", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("is_backlog", sa.Boolean(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=12), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("days_left", sa.Integer(), nullable=True),
        sa.Column("color", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_colors_county", "case_colors", ["county_code", "color"], unique=False)
    op.create_index("ix_case_colors_township", "case_colors", ["township_code", "color"], unique=False)
    op.create_table(
        "summary_state",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_cases_backlog_registered", "cases", ["is_backlog", "registered_on"], unique=False)
    op.create_index("ix_cases_backlog_resolved", "cases", ["is_backlog", "resolved_on"], unique=False)
    op.execute(sa.text(
        "UPDATE cases SET is_collective = (channel = 'visit' AND persons >= 5) "
        "WHERE is_collective <> (channel = 'visit' AND persons >= 5)"))
    # The counts from the existing cases (the same statement `refresh` runs).
    from dashboard import summaries

    summaries.rebuild_counts(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_cases_backlog_resolved", table_name="cases")
    op.drop_index("ix_cases_backlog_registered", table_name="cases")
    op.drop_table("summary_state")
    op.drop_index("ix_case_colors_township", table_name="case_colors")
    op.drop_index("ix_case_colors_county", table_name="case_colors")
    op.drop_table("case_colors")
    op.drop_table("case_summaries")
