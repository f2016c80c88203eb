"""summary_fill_state: how far each per-officer-week rollup is filled, and in which zone

The rollups (activity_officer_week, followup_officer_week) were kept by ORM mapper events, in
whatever zone was set at write time, with no stamp. They now hold closed local weeks only,
filled by the crm.summaries.fill job; their old rows are dropped here (their zone is unknown)
and the first fill counts them again (until then the report counts the raw rows).

Revision ID: 0010_summary_fill_state
Revises: 0009_notices_park_district
Create Date: 2026-11-30 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from crm.types import UTCDateTime

revision: str = "0010_summary_fill_state"
down_revision: str | None = "0009_notices_park_district"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_fill_state",
        sa.Column("property", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("end_week", sa.Date(), nullable=True),
        sa.Column("zone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_modified", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("property"),
    )
    op.execute("DELETE FROM activity_officer_week")
    op.execute("DELETE FROM followup_officer_week")


def downgrade() -> None:
    op.drop_table("summary_fill_state")
