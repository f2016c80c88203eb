"""the coverage report's one pass from the index alone: ix_project_report_firm also holds the
park, the confidential flag and the code name (the report reads them since the matrix and the
code names joined its pass; each of its ~8,000 rows looked the project row up in the table)

Revision ID: 0016_coverage_covering_index
Revises: 0015_import_confirmed
Create Date: 2026-12-01 08:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_coverage_covering_index"
down_revision: str | None = "0015_import_confirmed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_project_report_firm"
BEFORE = ["firm_id", "stage", "cluster_id", "chain_link_id", "expected_output", "department_id"]
AFTER = [*BEFORE, "park_id", "is_confidential", "code_name"]


def upgrade() -> None:
    op.drop_index(NAME, table_name="project")
    op.create_index(NAME, "project", AFTER)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE project")  # statistics for the new index, so the planner uses it


def downgrade() -> None:
    op.drop_index(NAME, table_name="project")
    op.create_index(NAME, "project", BEFORE)
