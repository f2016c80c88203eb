"""activity_officer_week and followup_officer_week: contacts logged and follow-ups done per
officer per local week, filled from the raw rows; a covering index for the overdue follow-ups per officer (the officer-activity report)

Revision ID: 0004_activity_officer_week
Revises: firm_search_short_0004
Create Date: 2026-11-25 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_activity_officer_week"
down_revision: str | None = "firm_search_short_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_officer_week",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("week_start", "user_id"),
    )
    op.create_table(
        "followup_officer_week",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("week_start", "user_id"),
    )
    # filled by crm.summaries.fill since 0010 (which empties both and adds their fill state)
    # follow-ups falling due per officer per week, still open: read from the index alone
    op.create_index("ix_followup_status_due_assignee", "followup",
                    ["status", "due_at", "assignee_id"])
    op.drop_index("ix_followup_status_due", table_name="followup")


def downgrade() -> None:
    op.create_index("ix_followup_status_due", "followup", ["status", "due_at"])
    op.drop_index("ix_followup_status_due_assignee", table_name="followup")
    op.drop_table("followup_officer_week")
    op.drop_table("activity_officer_week")
