"""firm search: the characters and character pairs kept in a stored column on PostgreSQL

0008 indexed the expression ``crm_search_grams(search_text)``. A query of one or two common
characters ("a", "an", 公) matches nearly every firm, so the planner rightly prefers reading the
table to the index — and then evaluated that SQL function on every row as the filter (about a
millisecond each: 25–40 s for one letter at city scale). The grams are now a generated column,
computed once when a firm's search text is written, and the GIN index is over that column: any
plan's filter is an array containment on a stored value, and the index still answers the rare
characters. The column is PostgreSQL's own (not in the models; excluded from autogenerate, as the
index), so SQLite, and every reader and writer of firms, are unchanged.

Revision ID: 0014_firm_search_grams_stored
Revises: 0013_alias_unique
Create Date: 2026-12-01 02:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_firm_search_grams_stored"
down_revision: str | None = "0013_alias_unique"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE firm ADD COLUMN IF NOT EXISTS search_grams text[] "
        "GENERATED ALWAYS AS (crm_search_grams(search_text)) STORED"
    )
    op.execute("DROP INDEX IF EXISTS ix_firm_search_grams")
    op.execute("CREATE INDEX ix_firm_search_grams ON firm USING gin (search_grams)")
    op.execute("ANALYZE firm")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_firm_search_grams")
    op.execute("ALTER TABLE firm DROP COLUMN IF EXISTS search_grams")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_firm_search_grams ON firm "
        "USING gin (crm_search_grams(search_text))"
    )
    op.execute("ANALYZE firm")
