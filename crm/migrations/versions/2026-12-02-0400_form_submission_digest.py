"""form_submission_digest: a one-use key is bound to what it was first used for

``form_submission.digest`` holds the sha256 (hex) of the first post's method, path (its target
ids) and validated content (``crm.submissions.fingerprint``). The same key posted again with the
same submission is "already submitted" as before; with another form, target or content it is
refused as a reuse (``idempotency_key_reused``), nothing recorded (ATTACK12 F2). Keys kept
before this revision have no digest and are answered as before.

Revision ID: 0028_form_submission_digest
Revises: 0027_countries_trigger_plain
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_form_submission_digest"
down_revision: str | None = "0027_countries_trigger_plain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("form_submission", sa.Column("digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("form_submission") as batch:
        batch.drop_column("digest")
