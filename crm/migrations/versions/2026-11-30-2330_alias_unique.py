"""an alias belongs to one firm: the index on firm_alias.alias_norm becomes unique

Revision ID: 0012_alias_unique
Revises: 0011_import_run
Create Date: 2026-11-30 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_alias_unique"
down_revision: str | None = "0011_import_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT alias_norm, count(DISTINCT firm_id) FROM firm_alias GROUP BY alias_norm "
                "HAVING count(DISTINCT firm_id) > 1 ORDER BY alias_norm LIMIT 20"
            )
        )
        .all()
    )
    if clashes:
        names = ", ".join(a for a, _ in clashes)
        raise RuntimeError(
            "这些别名属于多家企业，请先合并或改名再迁移 / these aliases belong to more than one "
            f"firm; merge the firms or rename the aliases, then migrate again: {names}"
        )
    op.drop_index("ix_firm_alias_norm", table_name="firm_alias")
    op.create_index("ix_firm_alias_norm", "firm_alias", ["alias_norm"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_firm_alias_norm", table_name="firm_alias")
    op.create_index("ix_firm_alias_norm", "firm_alias", ["alias_norm"])
