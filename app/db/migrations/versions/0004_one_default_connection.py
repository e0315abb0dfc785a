"""at most one default connection per tenant and type

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keep only the newest default of each tenant and type before the index forbids two.
    op.execute("""
        UPDATE connections SET is_default = false
        WHERE is_default AND id NOT IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY tenant_id, type
                                              ORDER BY created_at DESC, id DESC) AS n
                FROM connections WHERE is_default) ranked
            WHERE n = 1)
    """)
    op.create_index("uq_connections_one_default", "connections", ["tenant_id", "type"], unique=True,
                    sqlite_where=sa.text("is_default"), postgresql_where=sa.text("is_default"))


def downgrade() -> None:
    op.drop_index("uq_connections_one_default", table_name="connections")
