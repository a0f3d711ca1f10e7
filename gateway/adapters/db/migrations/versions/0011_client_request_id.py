"""access log: the caller's own X-Request-Id, kept beside the unique one the gateway makes

Revision ID: 0011
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_log", sa.Column("client_request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("access_log", "client_request_id")
