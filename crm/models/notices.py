"""In-app notices (the header bell): conflicts reaching the managers, assignments made to you,
merges of your firms (SPEC §4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class Notice(SQLModel, table=True):
    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("user_id", "dedup_key", name="uq_notice_user_key"),  # told once
        Index("ix_notice_user_unread", "user_id", "read_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    kind: str = Field(max_length=20)  # conflict | assigned | merged
    dedup_key: str = Field(max_length=100)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    firm_id: int | None = Field(default=None, foreign_key="firm.id")
    # a short text fixed when the notice is made: a confidential project by its code name only
    text: str = Field(max_length=500)
    link: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
