"""indexes the benchmark asked for

- firm: (tier, updated_at) replaces (tier): the firm list reads each tier group in page order
  from it instead of sorting every firm.

Revision ID: list_indexes_0003
Revises: firm_search_0002
Create Date: 2026-11-25 00:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "list_indexes_0003"
down_revision: str | None = "firm_search_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_firm_tier_updated", "firm", ["tier", "updated_at"])
    op.drop_index("ix_firm_tier", table_name="firm")


def downgrade() -> None:
    op.create_index("ix_firm_tier", "firm", ["tier"])
    op.drop_index("ix_firm_tier_updated", table_name="firm")
