"""indexes the benchmark asked for

- firm: (tier, updated_at) replaces (tier): the firm list reads each tier group in page order
  from it instead of sorting every firm.
- followup (activity_id): a timeline's follow-ups were a scan of every follow-up.
(the reports' own indexes come in the report_indexes revision)

Revision ID: list_indexes_0003
Revises: 0002_reports
Create Date: 2026-11-25 00:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "list_indexes_0003"
down_revision: str | None = "0002_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INDEXES = [
    ("ix_firm_tier_updated", "firm", ["tier", "updated_at"]),
    ("ix_followup_activity", "followup", ["activity_id"]),
]


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    op.drop_index("ix_firm_tier", table_name="firm")


def downgrade() -> None:
    op.create_index("ix_firm_tier", "firm", ["tier"])
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table_name=table)
