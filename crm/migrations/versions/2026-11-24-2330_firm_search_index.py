"""firm search index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL

The firm search matches any substring of ``firm.search_text`` (names, aliases, pinyin,
initials). A plain LIKE '%q%' reads all 50,000 rows at city scale; these indexes answer queries
of three or more characters from the index (shorter ones still use LIKE, see
crm.firms.service.search_condition).

SQLite: ``firm_fts``, an external-content FTS5 table (trigram tokenizer) over firm.search_text,
kept in sync by triggers. It and its shadow tables are excluded from autogenerate (``_fts``).
PostgreSQL: a GIN trigram index on firm.search_text, which LIKE '%q%' uses directly (excluded
from autogenerate by its ``_trgm`` suffix).

Revision ID: firm_search_0002
Revises: 0001
Create Date: 2026-11-24 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "firm_search_0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE firm_fts USING fts5(search_text, content='firm', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER firm_fts_ai AFTER INSERT ON firm BEGIN "
    "INSERT INTO firm_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER firm_fts_ad AFTER DELETE ON firm BEGIN "
    "INSERT INTO firm_fts(firm_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER firm_fts_au AFTER UPDATE OF search_text ON firm BEGIN "
    "INSERT INTO firm_fts(firm_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO firm_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO firm_fts(firm_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS firm_fts_au",
    "DROP TRIGGER IF EXISTS firm_fts_ad",
    "DROP TRIGGER IF EXISTS firm_fts_ai",
    "DROP TABLE IF EXISTS firm_fts",
]
PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_firm_search_trgm ON firm "
    "USING gin (search_text gin_trgm_ops)",
]
PG_DOWN = ["DROP INDEX IF EXISTS ix_firm_search_trgm"]


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_UP)
    else:
        _run(PG_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_DOWN)
    else:
        _run(PG_DOWN)
