"""indexes for the reports (officer activity, pipeline)

Revision ID: 0002_reports
Revises: firm_search_0002
Create Date: 2026-11-24 23:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_reports"
down_revision: str | None = "firm_search_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # contacts logged per officer per week: a range on created_at, covering created_by_id
    op.create_index("ix_activity_created_at_by", "activity", ["created_at", "created_by_id"])
    # follow-ups done per week: status = done and a range on completed_at
    op.create_index("ix_followup_status_completed", "followup",
                    ["status", "completed_at", "assignee_id"])
    # new projects per week and new leads: a range on created_at
    op.create_index("ix_project_created", "project", ["created_at"])
    # stage conversion and signings: each project's history read from the index alone
    op.create_index("ix_stage_change_project_to", "stage_change",
                    ["project_id", "to_stage", "changed_at"])


def downgrade() -> None:
    op.drop_index("ix_stage_change_project_to", table_name="stage_change")
    op.drop_index("ix_project_created", table_name="project")
    op.drop_index("ix_followup_status_completed", table_name="followup")
    op.drop_index("ix_activity_created_at_by", table_name="activity")
