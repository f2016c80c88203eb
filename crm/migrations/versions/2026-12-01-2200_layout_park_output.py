"""the park layout's first projects of each park from an index in the page's order: a park's
live projects by expected output (largest first, none last) then id, with the columns the
report's filters and the visibility rule read

Revision ID: 0020_layout_park_output
Revises: 0019_firm_search_one_char
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_layout_park_output"
down_revision: str | None = "0019_firm_search_one_char"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_project_park_output"
REST = "id, stage, cluster_id, department_id, is_confidential"


def upgrade() -> None:
    # SQLite sorts NULL first, so DESC puts it last and takes no NULLS clause (it has none in
    # an index); PostgreSQL's DESC puts NULL first unless told
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX {NAME} ON project (park_id, expected_output DESC, {REST})")
        op.execute("ANALYZE project")  # statistics for the new index, so the planner uses it
    else:
        op.execute(
            f"CREATE INDEX {NAME} ON project (park_id, expected_output DESC NULLS LAST, {REST})"
        )


def downgrade() -> None:
    op.drop_index(NAME, table_name="project")
