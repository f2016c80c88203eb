"""covering indexes on project for the reports (coverage, targets, leaders)

Each report reads a few columns of many projects; these let SQLite answer from an index
instead of scanning the wide project rows.

Revision ID: 0005_report_project_indexes
Revises: 0004_activity_officer_week
Create Date: 2026-11-25 02:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_report_project_indexes"
down_revision: str | None = "0004_activity_officer_week"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    # coverage: every live project of the major investors, with its cluster, link and output
    "ix_project_report_firm": ["firm_id", "stage", "cluster_id", "chain_link_id",
                               "expected_output", "department_id"],
    # coverage: firms and projects per chain link
    "ix_project_report_link": ["chain_link_id", "firm_id", "stage", "department_id"],
    # coverage: the cluster × park matrix
    "ix_project_report_cluster_park": ["cluster_id", "park_id", "stage", "department_id"],
    # targets and the leaders ladder: output of the projects at signed / landed / operating
    "ix_project_report_stage": ["stage", "cluster_id", "park_id", "firm_id", "expected_output",
                                "department_id"],
}


def upgrade() -> None:
    for name, cols in INDEXES.items():
        op.create_index(name, "project", cols)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="project")
