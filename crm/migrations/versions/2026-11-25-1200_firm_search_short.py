"""firm search for two-character queries (惠普, HP, hp) from the FTS5 index on SQLite

A trigram index cannot look up a two-character string directly, so such queries read every
firm. But every occurrence of a two-character string ``q`` in ``firm.search_text`` begins
some trigram ``q?`` as long as the text never ends with ``q``: ``search_text`` now always ends
with a space (crm.text.search_blob), and the trigrams that begin with ``q`` are one range of
the index's vocabulary (``firm_fts_vocab``, an fts5vocab table), so the query becomes
``firm_fts MATCH '"q…" OR "q…"'`` (crm.firms.service.search_condition).

PostgreSQL keeps LIKE on the pg_trgm index; the trailing space changes nothing there and is
added to existing rows too, so both databases hold the same text.

Revision ID: firm_search_short_0004
Revises: 0002_cluster_version
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "firm_search_short_0004"
down_revision: str | None = "0002_cluster_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the FTS5 update trigger re-indexes each changed row
PAD = ("UPDATE firm SET search_text = substr(search_text, 1, 3999) || ' ' "
       "WHERE search_text NOT LIKE '% '")
UNPAD = ("UPDATE firm SET search_text = substr(search_text, 1, length(search_text) - 1) "
         "WHERE search_text LIKE '% '")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE firm_fts_vocab USING fts5vocab(firm_fts, 'row')")
        op.execute(PAD)
    else:
        op.execute(PAD.replace("substr(search_text, 1, 3999)", "left(search_text, 3999)"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS firm_fts_vocab")
    op.execute(UNPAD)
