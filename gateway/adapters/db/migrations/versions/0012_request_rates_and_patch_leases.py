"""fair use: a per-tenant request rate, and the node holding each PATCH in flight (its rows
are cleared when that node starts again)

Revision ID: 0012
Revises: 0011

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenant_limits", sa.Column("requests_per_second", sa.BigInteger, nullable=True))
    op.add_column("active_patches", sa.Column("node", sa.String(200), nullable=True))
    op.create_index("ix_active_patches_node", "active_patches", ["node"])


def downgrade() -> None:
    op.drop_index("ix_active_patches_node", "active_patches")
    op.drop_column("active_patches", "node")
    op.drop_column("tenant_limits", "requests_per_second")
