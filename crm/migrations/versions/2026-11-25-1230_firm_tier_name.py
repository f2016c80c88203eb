"""covering index for the major investors: firm (tier, id, name_zh); a board column in order:
project (stage, updated_at, id)

Coverage reads every live project of a global500 / china500 / leader firm with the firm's name
and tier. Without this index each of those ~8,000 projects looks up its firm's whole row (wide:
the search text), which was half of the report's time at city scale.

Each column of the pipeline board is a stage's most recently updated projects: with (stage) alone
the 5,000 leads were sorted on every request; (stage, updated_at, id) reads them in order and
stops at the page. It replaces ix_project_stage (its prefix).

Revision ID: 0007_firm_tier_name
Revises: 0006_report_more_indexes
Create Date: 2026-11-25 03:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_firm_tier_name"
down_revision: str | None = "0006_report_more_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_firm_tier_name", "firm", ["tier", "id", "name_zh"])
    op.create_index("ix_project_stage_updated", "project", ["stage", "updated_at", "id"])
    op.drop_index("ix_project_stage", table_name="project")


def downgrade() -> None:
    op.create_index("ix_project_stage", "project", ["stage"])
    op.drop_index("ix_project_stage_updated", table_name="project")
    op.drop_index("ix_firm_tier_name", table_name="firm")
