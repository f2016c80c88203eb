"""cluster.version: optimistic locking for the one change admins make to a cluster

Revision ID: 0002_cluster_version
Revises: 0003_audit_append_only
Create Date: 2026-11-25 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_cluster_version"
down_revision: str | None = "0003_audit_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cluster") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("cluster") as batch:
        batch.drop_column("version")
