"""fair-use quotas (clause 3.1.3.6): per-tenant limit overrides, daily usage counters, and
the PATCH bodies being received now (across instances)

Revision ID: 0009
Revises: 0008

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMITS = (
    "max_file_size", "open_uploads", "concurrent_patches", "bytes_per_day",
    "uploads_per_minute", "screening_minutes_per_day",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "tenant_limits",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in LIMITS),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_limits_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_limits")),
    )
    op.create_table(
        "tenant_usage",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("screening_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_tenant_usage")),
    )
    op.create_table(
        "active_patches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_active_patches")),
    )
    op.create_index("ix_active_patches_tenant_id", "active_patches", ["tenant_id"], unique=False)
    op.create_index("ix_uploads_tenant_id_created_at", "uploads", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_uploads_tenant_id_created_at", table_name="uploads")
    op.drop_index("ix_active_patches_tenant_id", table_name="active_patches")
    op.drop_table("active_patches")
    op.drop_table("tenant_usage")
    op.drop_table("tenant_limits")
