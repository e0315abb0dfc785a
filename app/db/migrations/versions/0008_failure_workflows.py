"""workflows.on_failure_workflow_id: the workflow a failed run starts (SPEC §3.4)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workflows') as batch:
        batch.add_column(sa.Column('on_failure_workflow_id', sqlmodel.sql.sqltypes.AutoString(length=40),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('workflows') as batch:
        batch.drop_column('on_failure_workflow_id')
