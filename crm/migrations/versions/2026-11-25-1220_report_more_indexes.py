"""covering indexes for officer activity (new leads), pipeline and delivery

Revision ID: 0006_report_more_indexes
Revises: 0005_report_project_indexes
Create Date: 2026-11-25 03:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_report_more_indexes"
down_revision: str | None = "0005_report_project_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    # new projects per week, new leads with owner and first contact: replaces ix_project_created
    ("ix_project_report_created", "project", ["created_at", "owner_id", "first_contact_at",
                                              "department_id", "is_confidential"]),
    # pipeline: counts and sums by stage and any grouping, from the index alone
    ("ix_project_report_pipeline", "project", [
        "stage", "cluster_id", "park_id", "department_id", "owner_id", "planned_investment",
        "expected_output", "is_confidential"]),
    # delivery: the signed projects' investment, jobs and dates
    ("ix_project_report_delivery", "project", [
        "stage", "cluster_id", "planned_investment", "expected_jobs", "actual_jobs",
        "expected_land_date", "actual_land_date", "expected_operate_date",
        "actual_operate_date", "department_id"]),
    # how a project was opened (its change from no stage)
    ("ix_stage_change_project_first", "stage_change", ["project_id", "from_stage", "to_stage"]),
    # capital arrived per project
    ("ix_capital_arrival_project_amount", "capital_arrival", ["project_id", "amount"]),
]


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    op.drop_index("ix_project_created", table_name="project")


def downgrade() -> None:
    op.create_index("ix_project_created", "project", ["created_at"])
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
