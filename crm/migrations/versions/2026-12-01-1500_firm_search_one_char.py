"""one-character firm searches (惠) from the FTS5 index on SQLite

A trigram index cannot look a single character up, so a one-character query read every firm's
``search_text`` (LIKE '%惠%': 65 ms on the city's 50,000 firms). Every occurrence of a character
``c`` begins a trigram ``c??`` of the text except the text's last character (``search_text``
ends with one space, so its last character begins no trigram): the query becomes the trigrams
that begin with ``c`` (a range of ``firm_fts_vocab``, as for two characters) and the firms whose
text ends with ``c`` and the space — which this index on the text's second-last character
answers (crm.firms.search). PostgreSQL answers one character from its grams index (0014):
nothing to do there.

Revision ID: 0019_firm_search_one_char
Revises: 0018_project_furthest_stage
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_firm_search_one_char"
down_revision: str | None = "0018_project_furthest_stage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_firm_search_tail"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX {NAME} ON firm (substr(search_text, -2, 1))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP INDEX IF EXISTS {NAME}")
