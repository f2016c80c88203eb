"""Follow-ups (跟进事项): dated tasks with an optional reminder time."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from crm.types import IDS_NEVER_REUSED, UTCDateTime, Versioned, utcnow
from crm.vocabulary import FollowupStatus as FollowupStatus
from crm.vocabulary import check, values


class Followup(Versioned, SQLModel, table=True):
    __tablename__ = "followup"
    __table_args__ = (
        CheckConstraint(check("status", values(FollowupStatus)), name="ck_followup_status"),
        Index("ix_followup_assignee_status_due", "assignee_id", "status", "due_at"),
        # overdue per officer (reports) and due by tonight (reminders): from the index alone
        Index("ix_followup_status_due_assignee", "status", "due_at", "assignee_id"),
        Index("ix_followup_remind", "status", "remind_at"),
        Index("ix_followup_firm", "firm_id"),
        Index("ix_followup_project", "project_id"),
        Index("ix_followup_status_completed", "status", "completed_at", "assignee_id"),
        Index("ix_followup_activity", "activity_id"),  # a timeline's follow-ups
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    due_at: datetime = Field(sa_type=UTCDateTime)
    remind_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assignee_id: int = Field(foreign_key="user_account.id")
    firm_id: int | None = Field(default=None, foreign_key="firm.id")
    project_id: int | None = Field(default=None, foreign_key="project.id")
    activity_id: int | None = Field(default=None, foreign_key="activity.id")
    status: str = Field(default=FollowupStatus.open.value, max_length=10)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)


class FollowupOfficerWeek(SQLModel, table=True):
    """Follow-ups each officer (the assignee) completed per local week (by ``completed_at``).

    A rollup of closed weeks only, filled by the ``crm.summaries.fill`` job (stamped with its
    zone in ``summary_fill_state``): the officer-activity report reads it, and counts the open
    week live.
    """

    __tablename__ = "followup_officer_week"

    week_start: date = Field(primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    done: int = Field(default=0)
