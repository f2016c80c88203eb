"""audit_record is append-only: triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL)

Revision ID: 0003_audit_append_only
Revises: list_indexes_0003
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

from alembic import op

from crm.audit import immutability

revision: str = "0003_audit_append_only"
down_revision: str | None = "list_indexes_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    immutability.install(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    immutability.remove(conn)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(immutability.PG_DROP_FUNCTION)
