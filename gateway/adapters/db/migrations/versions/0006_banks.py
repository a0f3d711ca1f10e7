"""hash banks: banks, their entries and frame hashes, an audit of changes; decisions keep the
bytes' digest and the screening key (duplicate re-uploads)

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Duplicate re-uploads: the bytes' digest and the screening key beside each decision.
    op.add_column("decisions", sa.Column("content_sha256", sa.String(length=64), nullable=True))
    op.add_column("decisions", sa.Column("screened_with", sa.String(length=64), nullable=True))
    op.create_index("ix_decisions_content_sha256", "decisions", ["content_sha256"], unique=False)
    op.create_table(
        "banks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("owner_tenant", sa.String(length=32), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("max_distance", sa.Integer(), nullable=False),
        sa.Column("min_matched_s", sa.Float(), nullable=False),
        sa.Column("min_frames", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_tenant"], ["tenants.id"], name=op.f("fk_banks_owner_tenant_tenants")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_banks")),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("upload_id", sa.String(length=32), nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["bank"], ["banks.name"], name=op.f("fk_bank_entries_bank_banks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint("bank", "sha256", name="uq_bank_entries_bank_sha256"),
    )
    op.create_table(
        "bank_hashes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bank_entries.id"], name=op.f("fk_bank_hashes_entry_id_bank_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_hashes")),
    )
    op.create_index(op.f("ix_bank_hashes_entry_id"), "bank_hashes", ["entry_id"], unique=False)
    op.create_table(
        "bank_thumbnails",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_bank_thumbnails_entry_id_bank_entries"),
        ),
        sa.PrimaryKeyConstraint("entry_id", "t_s", name=op.f("pk_bank_thumbnails")),
    )
    op.create_table(
        "bank_audio",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bank_entries.id"], name=op.f("fk_bank_audio_entry_id_bank_entries")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_bank_audio")),
    )
    op.create_table(
        "bank_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_audit")),
    )
    op.create_index(op.f("ix_bank_audit_bank"), "bank_audit", ["bank"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_bank_audit_bank"), table_name="bank_audit")
    op.drop_table("bank_audit")
    op.drop_table("bank_audio")
    op.drop_table("bank_thumbnails")
    op.drop_index(op.f("ix_bank_hashes_entry_id"), table_name="bank_hashes")
    op.drop_table("bank_hashes")
    op.drop_table("bank_entries")
    op.drop_table("banks")
    op.drop_index("ix_decisions_content_sha256", table_name="decisions")
    op.drop_column("decisions", "screened_with")
    op.drop_column("decisions", "content_sha256")
