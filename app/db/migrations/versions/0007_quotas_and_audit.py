"""tenant quota counters (runs per day, running instances and their slots) and the audit log

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_ID = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('tenant_run_counters',
                    sa.Column('tenant_id', _ID(length=40), nullable=False),
                    sa.Column('day', _ID(length=10), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('tenant_id', 'day'))
    op.create_table('tenant_running',
                    sa.Column('tenant_id', _ID(length=40), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('tenant_id'))
    op.create_table('running_slots',
                    sa.Column('temporal_id', _ID(length=200), nullable=False),
                    sa.Column('tenant_id', _ID(length=40), nullable=False),
                    sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('temporal_id'))
    op.create_index('ix_running_slots_tenant_id', 'running_slots', ['tenant_id'])
    op.create_table('audit_entries',
                    sa.Column('id', _ID(length=40), nullable=False),
                    sa.Column('tenant_id', _ID(length=40), nullable=False),
                    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.Column('actor_type', _ID(length=16), nullable=False),
                    sa.Column('actor_id', _ID(length=40), nullable=False),
                    sa.Column('actor_subject', _ID(length=200), nullable=True),
                    sa.Column('action', _ID(length=40), nullable=False),
                    sa.Column('resource_type', _ID(length=40), nullable=False),
                    sa.Column('resource_id', _ID(length=200), nullable=False),
                    sa.Column('request_id', _ID(length=80), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_audit_entries_tenant_at', 'audit_entries', ['tenant_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_audit_entries_tenant_at', table_name='audit_entries')
    op.drop_table('audit_entries')
    op.drop_index('ix_running_slots_tenant_id', table_name='running_slots')
    op.drop_table('running_slots')
    op.drop_table('tenant_running')
    op.drop_table('tenant_run_counters')
