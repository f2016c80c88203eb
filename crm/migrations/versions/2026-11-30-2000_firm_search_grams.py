"""firm search for one- and two-character queries from an index on PostgreSQL

pg_trgm cannot serve a LIKE pattern shorter than three characters (惠普, HP, hp): such a query
read every firm (~105 ms at city scale). pg_bigm would, but it is not packaged for Debian 12; on
stock PostgreSQL a GIN index over an array of the text's characters and character pairs does
the same: a one- or two-character string is a substring of ``search_text`` exactly when it is
one of its characters or pairs, so ``crm_search_grams(search_text) @> ARRAY[q]`` answers what
``search_text LIKE '%q%'`` answers (crm.firms.service.search_condition).

SQLite answers these queries from its FTS5 index already (firm_search_short); nothing changes
there. The index is named ``*_grams`` and excluded from autogenerate (an expression index).

Revision ID: 0008_firm_search_grams
Revises: 0007_firm_tier_name
Create Date: 2026-11-30 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_firm_search_grams"
down_revision: str | None = "0007_firm_tier_name"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every character and every pair of adjacent characters of a text, each once
GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION crm_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}'::text[]) FROM (
    SELECT substr(t, i, 1) FROM generate_series(1, length(t)) AS i
    UNION ALL
    SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) AS i
  ) AS s(g)
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(GRAMS_FUNCTION)
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_firm_search_grams ON firm "
        "USING gin (crm_search_grams(search_text))"
    )
    op.execute("ANALYZE firm")  # statistics for the expression, so the planner uses the index


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_firm_search_grams")
    op.execute("DROP FUNCTION IF EXISTS crm_search_grams(text)")
