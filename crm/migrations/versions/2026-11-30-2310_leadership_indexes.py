"""indexes for the leadership's pages: open conflicts, a manager's home, the city map, the
briefing's capital arrived

Revision ID: 0012_leadership_indexes
Revises: 0011_import_run
Create Date: 2026-11-30 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_leadership_indexes"
down_revision: str | None = "0011_import_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGGED = "conflict_with_id IS NOT NULL"
INDEXES = [
    # a manager's home: the department's new projects this week, its stale projects
    ("ix_project_department_created", "project", ["department_id", "created_at"]),
    (
        "ix_project_department_stale",
        "project",
        ["department_id", "stage", "last_activity_at", "created_at"],
    ),
    # the city map: live projects and landed output per park, from the index alone
    (
        "ix_project_map",
        "project",
        ["park_id", "stage", "expected_output", "cluster_id", "department_id", "is_confidential"],
    ),
    # the briefing: capital arrived in a week
    ("ix_capital_arrival_on", "capital_arrival", ["arrived_on", "project_id", "amount"]),
]


def upgrade() -> None:
    # the few projects flagged 撞单 (open conflicts: a manager's home, the conflicts list)
    op.create_index(
        "ix_project_conflict",
        "project",
        ["conflict_with_id"],
        sqlite_where=sa.text(FLAGGED),
        postgresql_where=sa.text(FLAGGED),
    )
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE project")  # statistics for the new indexes, so the planner uses them
        op.execute("ANALYZE capital_arrival")


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_project_conflict", table_name="project")
