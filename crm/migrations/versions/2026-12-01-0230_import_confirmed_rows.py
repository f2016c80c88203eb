"""import runs: the rows a user chose to import although they may duplicate a firm

Revision ID: 0015_import_confirmed
Revises: 0014_firm_search_grams_stored
Create Date: 2026-12-01 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_import_confirmed"
down_revision: str | None = "0014_firm_search_grams_stored"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_run", sa.Column("confirmed", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("import_run", "confirmed")
