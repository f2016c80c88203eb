"""One-use submission keys of the create forms (idempotency keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class FormSubmission(SQLModel, table=True):
    """A create form's key, as its first post used it: the post that wrote this row recorded
    what the form adds in the same transaction; a later post with the key records nothing
    (``crm.submissions``). Per user: one user's key is nothing to another. Kept a week
    (``crm.submissions.forget_old``)."""

    __tablename__ = "form_submission"
    __table_args__ = (Index("ix_form_submission_at", "at"),)

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    key: str = Field(sa_column=Column(String(64), primary_key=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # where the first post's answer sent the user (a page of ours), or what it recorded
    outcome: str | None = Field(default=None, max_length=300)
    # what the first post was (sha256 hex of its method, path and validated content,
    # ``crm.submissions.fingerprint``): the key is answered "already submitted" only for the
    # same submission again. None: a key kept before migration 0028 (any post matches it)
    digest: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
