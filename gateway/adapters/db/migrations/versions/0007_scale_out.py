"""scale-out: where an upload's bytes are staged (a node's disk, or an S3 multipart upload
whose parts are listed here), the live workers, and each tenant's last turn at a claim

Revision ID: 0007
Revises: 0006

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Local staging: the node whose disk holds the bytes (no other node may append or read).
    op.add_column("uploads", sa.Column("staged_on", sa.String(length=64), nullable=True))
    # S3 staging: the multipart upload, its parts and the tail object, committed with the
    # offset they add up to.
    op.add_column("uploads", sa.Column("staging_state", sa.Text(), nullable=True))
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("stages", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_table(
        "tenant_turns",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("last_claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "stage", name=op.f("pk_tenant_turns")),
    )


def downgrade() -> None:
    op.drop_table("tenant_turns")
    op.drop_table("workers")
    op.drop_column("uploads", "staging_state")
    op.drop_column("uploads", "staged_on")
