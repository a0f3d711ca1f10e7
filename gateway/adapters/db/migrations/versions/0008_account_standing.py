"""account standing after arrears (clause 7.3.3): when arrears began, when the account was
suspended and terminated, and the purge's receipt

Revision ID: 0008
Revises: 0007

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name in ("arrears_since", "suspended_at", "terminated_at", "purged_at"):
        op.add_column("tenants", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("tenants", sa.Column("purge_receipt", sa.JSON(), nullable=True))


def downgrade() -> None:
    for name in ("purge_receipt", "purged_at", "terminated_at", "suspended_at", "arrears_since"):
        op.drop_column("tenants", name)
