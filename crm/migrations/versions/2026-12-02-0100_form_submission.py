"""form_submission: the create forms' one-use keys

A create form (log a contact, add a contact, a follow-up, a firm, a project, capital) carries a
key of its own; the post that records first keeps it here, in the transaction of what it
records, and a second post with the key (a double tap, a retry, a replayed request) records
nothing. Per user; old keys are forgotten by the quarter-hourly summaries job.

Revision ID: 0024_form_submission
Revises: 0023_firm_id_tier
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from crm.types import UTCDateTime

revision: str = "0024_form_submission"
down_revision: str | None = "0023_firm_id_tier"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_submission",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_index("ix_form_submission_at", "form_submission", ["at"])


def downgrade() -> None:
    op.drop_index("ix_form_submission_at", table_name="form_submission")
    op.drop_table("form_submission")
