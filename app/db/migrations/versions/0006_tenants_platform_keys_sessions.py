"""embedding (SPEC §3.3): tenants get external_id (unique), quotas and disabled; API keys may be
platform keys (no tenant); session tokens

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as tenants:
        tenants.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        tenants.add_column(sa.Column("quotas", sa.JSON(), nullable=True))
        tenants.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        tenants.create_index("ix_tenants_external_id", ["external_id"], unique=True)
    with op.batch_alter_table("api_keys") as keys:
        keys.alter_column("tenant_id", existing_type=sa.String(length=40), nullable=True)
        keys.add_column(sa.Column("platform", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("tenant_id", sa.String(length=40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sessions_token_hash", "sessions", ["token_hash"], unique=True)
    op.create_index("ix_sessions_tenant_id", "sessions", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("sessions")
    op.execute("DELETE FROM api_keys WHERE tenant_id IS NULL")
    with op.batch_alter_table("api_keys") as keys:
        keys.drop_column("platform")
        keys.alter_column("tenant_id", existing_type=sa.String(length=40), nullable=False)
    with op.batch_alter_table("tenants") as tenants:
        tenants.drop_index("ix_tenants_external_id")
        tenants.drop_column("disabled")
        tenants.drop_column("quotas")
        tenants.drop_column("external_id")
