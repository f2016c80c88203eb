"""an alias belongs to one firm: the index on firm_alias.alias_norm becomes unique

Revision ID: 0013_alias_unique
Revises: 0012_leadership_indexes
Create Date: 2026-11-30 23:20:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision: str = "0013_alias_unique"
down_revision: str | None = "0012_leadership_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """An alias that more than one firm holds stays with the firm that had it first (lowest
    alias row); the others lose it, and one audit record lists each (firm, alias) removed."""
    conn = op.get_bind()
    removed = conn.execute(
        sa.text(
            "SELECT a.id, a.firm_id, a.alias FROM firm_alias a WHERE EXISTS (SELECT 1 FROM "
            "firm_alias b WHERE b.alias_norm = a.alias_norm AND b.id < a.id) ORDER BY a.id"
        )
    ).all()
    if removed:
        ids = [r[0] for r in removed]
        for start in range(0, len(ids), 500):
            conn.execute(
                sa.text("DELETE FROM firm_alias WHERE id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": ids[start : start + 500]},
            )
        audit = sa.table(
            "audit_record",
            sa.column("at", UTCDateTime(timezone=True)),
            sa.column("action", sa.String),
            sa.column("entity", sa.String),
            sa.column("before", sa.Text),
        )
        conn.execute(
            audit.insert().values(
                at=datetime.now(UTC),
                action="delete",
                entity="firm_alias",
                before=json.dumps(
                    {
                        "reason": "an alias belongs to one firm (migration 0013)",
                        "removed": [{"firm_id": f, "alias": a} for _i, f, a in removed],
                    },
                    ensure_ascii=False,
                ),
            )
        )
    op.drop_index("ix_firm_alias_norm", table_name="firm_alias")
    op.create_index("ix_firm_alias_norm", "firm_alias", ["alias_norm"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_firm_alias_norm", table_name="firm_alias")
    op.create_index("ix_firm_alias_norm", "firm_alias", ["alias_norm"])
