"""project_late_order: the late projects, most overdue first, read in order

The delivery report and the briefing list the late projects (signed and later, late to land or
to operate) in the order of ``coalesce(expected_land_date, expected_operate_date), id`` and
show the first ten (the report a hundred). With only the stage indexes every secured project was
read and sorted for them: 4,664 rows, 1,281 pages, 3.2 ms on PostgreSQL and 0.7 ms on SQLite at
city scale. Along this index, its stage beside the key, the first late ones are read in order
(0.03 and 0.02 ms). An expression index, made by SQL on each database (the models leave it
out, as ``ix_project_department_idle_expr``).

Revision ID: 0030_project_late_order
Revises: 0029_project_idle_index
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030_project_late_order"
down_revision: str | None = "0029_project_idle_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_project_late_order_expr ON project "
        "(coalesce(expected_land_date, expected_operate_date), id, stage)"
    )
    op.execute("ANALYZE project")  # statistics for the new index's expression


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_project_late_order_expr")
