"""countries_trigger_plain: SQLite keeps no triggers on firm for the countries' version; the
firm list reads its countries afresh there (crm.firms.views.countries)

0026's ``cache_countries_ai`` asked, in its WHEN, whether another firm had the new firm's
country (``NOT EXISTS (SELECT 1 FROM firm f …)``). Once the import's bulk writer had dropped and
made again the firm search index's trigger (crm.imports.firm_writer) in a connection, the next
firm inserted through another pooled connection failed with "no such table: firm" (CI's SQLite
run), with a plain WHEN too; without the trigger it did not. On SQLite the list is a skip scan
of a few hundred index seeks in the same file (0.05 ms): read each time, it needs no version.
PostgreSQL's triggers (functions) are unchanged.

Revision ID: 0027_countries_trigger_plain
Revises: 0026_cache_version
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027_countries_trigger_plain"
down_revision: str | None = "0026_cache_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE cache_version SET n = random() WHERE name = 'countries';"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("cache_countries_ai", "cache_countries_ad", "cache_countries_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER cache_countries_ai AFTER INSERT ON firm WHEN new.country IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM firm f WHERE f.country = new.country "
        f"AND f.id <> new.id) BEGIN {BUMP} END"
    )
    op.execute(f"CREATE TRIGGER cache_countries_ad AFTER DELETE ON firm BEGIN {BUMP} END")
    op.execute(
        "CREATE TRIGGER cache_countries_au AFTER UPDATE OF country ON firm "
        f"WHEN old.country IS NOT new.country BEGIN {BUMP} END"
    )
