"""PostgreSQL: a firm's tier by its id from an index alone

The reports ask of a project "is its firm a major investor?" by the firm's id (the weekly
briefing's coverage at two instants, its history of moved projects). PostgreSQL answered from
``ix_firm_tier_name`` (tier, id, name_zh) — one descent per major tier, nine pages a firm — or
from the primary key and the table's row; this index gives the tier beside the id, one descent
and no row (city: the briefing's coverage statement 7.2 → 1.9 ms of server CPU). SQLite reads
the row by its rowid at the same cost: nothing to do there.

Revision ID: 0023_firm_id_tier
Revises: 0022_contact_project_search
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_firm_id_tier"
down_revision: str | None = "0022_contact_project_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_firm_id_tier"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # plain columns: the planner's statistics of firm serve it as they are
        op.create_index(NAME, "firm", ["id", "tier"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(NAME, table_name="firm")
