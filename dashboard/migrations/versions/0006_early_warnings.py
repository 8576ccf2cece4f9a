"""Early warnings (一单三推) and backlog clearance targets: warnings with their three
deliveries and status history, sensitive periods, and each county's target date for
clearing its backlog. Additive: new tables only.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("domain", sa.String(length=20), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("raised_by", sa.String(length=50), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["county_code"], ["regions.code"]),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raised_on", "region_code", "domain", "window_days", name="uq_early_warning"),
    )
    op.create_index(op.f("ix_early_warnings_raised_on"), "early_warnings", ["raised_on"], unique=False)
    op.create_index(op.f("ix_early_warnings_region_code"), "early_warnings", ["region_code"], unique=False)
    op.create_index(op.f("ix_early_warnings_county_code"), "early_warnings", ["county_code"], unique=False)
    op.create_table(
        "warning_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=12), nullable=False),
        sa.Column("recipient_name", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=50), nullable=True),
        sa.Column("acted_at", sa.DateTime(), nullable=True),
        sa.Column("acted_by", sa.String(length=50), nullable=True),
        sa.Column("action_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["warning_id"], ["early_warnings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("warning_id", "recipient", name="uq_warning_delivery"),
    )
    op.create_index(op.f("ix_warning_deliveries_warning_id"), "warning_deliveries", ["warning_id"], unique=False)
    op.create_index(op.f("ix_warning_deliveries_region_code"), "warning_deliveries", ["region_code"], unique=False)
    op.create_table(
        "warning_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=50), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["warning_deliveries.id"]),
        sa.ForeignKeyConstraint(["warning_id"], ["early_warnings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_warning_events_warning_id"), "warning_events", ["warning_id"], unique=False)
    op.create_table(
        "sensitive_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "backlog_targets",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("set_by", sa.String(length=50), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"]),
        sa.PrimaryKeyConstraint("region_code"),
    )


def downgrade() -> None:
    op.drop_table("backlog_targets")
    op.drop_table("sensitive_periods")
    op.drop_index(op.f("ix_warning_events_warning_id"), table_name="warning_events")
    op.drop_table("warning_events")
    op.drop_index(op.f("ix_warning_deliveries_region_code"), table_name="warning_deliveries")
    op.drop_index(op.f("ix_warning_deliveries_warning_id"), table_name="warning_deliveries")
    op.drop_table("warning_deliveries")
    op.drop_index(op.f("ix_early_warnings_county_code"), table_name="early_warnings")
    op.drop_index(op.f("ix_early_warnings_region_code"), table_name="early_warnings")
    op.drop_index(op.f("ix_early_warnings_raised_on"), table_name="early_warnings")
    op.drop_table("early_warnings")
