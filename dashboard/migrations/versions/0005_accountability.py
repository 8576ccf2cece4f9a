"""The accountability loop: 四定四包 plans, 2453 steps, 一事双交 parts, 销号, leader
receptions (领导接访), 五个必批 instructions, 纪委+信访 referrals, 溯源调查, 问责/约谈 and
回访. New tables and one new nullable column (case_units.part): nothing existing changes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('receptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('form', sa.String(length=12), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('persons', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], ),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_receptions_held_on'), 'receptions', ['held_on'], unique=False)
    op.create_index(op.f('ix_receptions_leader_id'), 'receptions', ['leader_id'], unique=False)
    op.create_index(op.f('ix_receptions_region_code'), 'receptions', ['region_code'], unique=False)
    op.create_table('accountability_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('official_name', sa.String(length=50), nullable=False),
    sa.Column('post', sa.String(length=100), nullable=False),
    sa.Column('unit_name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('form', sa.String(length=14), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_accountability_records_decided_on'), 'accountability_records', ['decided_on'], unique=False)
    op.create_index(op.f('ix_accountability_records_region_code'), 'accountability_records', ['region_code'], unique=False)
    op.create_table('case_plans',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('measures', sa.Text(), nullable=True),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('responsible_person', sa.String(length=50), nullable=True),
    sa.Column('responsible_unit_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], ),
    sa.ForeignKeyConstraint(['responsible_unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index(op.f('ix_case_plans_leader_id'), 'case_plans', ['leader_id'], unique=False)
    op.create_table('case_steps',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=12), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'step')
    )
    op.create_table('clearances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('approved_by', sa.String(length=50), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_clearances_case_id'), 'clearances', ['case_id'], unique=False)
    op.create_table('instructions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=12), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('instructed_on', sa.Date(), nullable=True),
    sa.Column('instruction', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], ),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_instructions_leader_id'), 'instructions', ['leader_id'], unique=False)
    op.create_index(op.f('ix_instructions_received_on'), 'instructions', ['received_on'], unique=False)
    op.create_index(op.f('ix_instructions_region_code'), 'instructions', ['region_code'], unique=False)
    op.create_table('reception_cases',
    sa.Column('reception_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['reception_id'], ['receptions.id'], ),
    sa.PrimaryKeyConstraint('reception_id', 'case_id')
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('referred_on', sa.Date(), nullable=False),
    sa.Column('approved_by_leader_id', sa.Integer(), nullable=True),
    sa.Column('receiving_body', sa.String(length=100), nullable=False),
    sa.Column('finding', sa.String(length=12), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('feedback_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_leader_id'], ['leaders.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_referrals_case_id'), 'referrals', ['case_id'], unique=False)
    op.create_index(op.f('ix_referrals_referred_on'), 'referrals', ['referred_on'], unique=False)
    op.create_table('revisits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('revisited_on', sa.Date(), nullable=False),
    sa.Column('way', sa.String(length=10), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('satisfaction_bureau', sa.String(length=12), nullable=True),
    sa.Column('satisfaction_authority', sa.String(length=12), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_revisits_case_id'), 'revisits', ['case_id'], unique=False)
    op.create_index(op.f('ix_revisits_revisited_on'), 'revisits', ['revisited_on'], unique=False)
    op.create_table('traces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('traced_on', sa.Date(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('responsible_unit_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=50), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['responsible_unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_traces_case_id'), 'traces', ['case_id'], unique=False)
    op.create_index(op.f('ix_traces_traced_on'), 'traces', ['traced_on'], unique=False)
    op.add_column('case_units', sa.Column('part', sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("数据库不支持降级：请从备份恢复。")
