"""in-app notices (the header bell) and each park's district (the city map)

Revision ID: 0009_notices_park_district
Revises: 0008_firm_search_grams
Create Date: 2026-11-30 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime  # noqa: F401 (the column type below)

revision: str = "0009_notices_park_district"
down_revision: str | None = "0008_firm_search_grams"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dedup_key", sa.String(length=100), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("project.id"), nullable=True),
        sa.Column("firm_id", sa.Integer(), sa.ForeignKey("firm.id"), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("user_id", "dedup_key", name="uq_notice_user_key"),
    )
    op.create_index("ix_notice_user_unread", "notice", ["user_id", "read_at", "created_at"])
    with op.batch_alter_table("park") as batch:
        batch.add_column(sa.Column("district", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("park") as batch:
        batch.drop_column("district")
    op.drop_index("ix_notice_user_unread", table_name="notice")
    op.drop_table("notice")
