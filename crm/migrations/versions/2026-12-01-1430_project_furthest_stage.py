"""a project keeps the furthest active stage it has reached (``project.furthest_stage``), so the
pipeline's conversion counts projects from an index instead of reading every project's stage
history (SQLite at city scale: 38 of the report's ~75 ms of CPU; PostgreSQL: its slowest
statement). Filled here from each project's history and its stage now; the stage changes keep it
from then on (``crm.projects.service``).

Revision ID: 0018_project_furthest_stage
Revises: 0017_sqlite_ids_never_reused
Create Date: 2026-12-01 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_project_furthest_stage"
down_revision: str | None = "0017_sqlite_ids_never_reused"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_project_report_reached"
COLUMNS = ["furthest_stage", "stage", "cluster_id", "park_id", "department_id", "is_confidential"]
# the active stages in order (crm.vocabulary.ACTIVE_STAGES as of this revision)
ORDER = ["lead", "contacted", "negotiating", "signed", "landed", "operating"]


def _rank(col: str) -> str:
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(ORDER))
    return f"CASE {col} {whens} ELSE -1 END"


def upgrade() -> None:
    # a plain ADD COLUMN on both databases (no table rebuild)
    op.add_column("project", sa.Column("furthest_stage", sa.String(length=12), nullable=True))
    # the highest stage of its history, then its stage now where that is higher (or no history)
    op.execute(
        "UPDATE project SET furthest_stage = (SELECT sc.to_stage FROM stage_change sc"
        " WHERE sc.project_id = project.id AND " + _rank("sc.to_stage") + " >= 0"
        " ORDER BY " + _rank("sc.to_stage") + " DESC LIMIT 1)"
    )
    op.execute(
        "UPDATE project SET furthest_stage = stage WHERE "
        + _rank("stage")
        + " > "
        + _rank("furthest_stage")
        + " AND "
        + _rank("stage")
        + " >= 0"
    )
    op.create_index(INDEX, "project", COLUMNS)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE project")  # statistics for the new index, so the planner uses it


def downgrade() -> None:
    op.drop_index(INDEX, table_name="project")
    # a plain DROP COLUMN (SQLite ≥ 3.35): a batch rebuild would lose the table's AUTOINCREMENT
    op.drop_column("project", "furthest_stage")
