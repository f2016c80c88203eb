"""Activities (接触记录): a logged contact with one or more firms."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from crm.types import IDS_NEVER_REUSED, UTCDateTime, Versioned, utcnow
from crm.vocabulary import ActivityKind as ActivityKind
from crm.vocabulary import check, values

KIND_CHECK = check("kind", values(ActivityKind))


class Activity(Versioned, SQLModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="ck_activity_kind"),
        Index("ix_activity_created_by_at", "created_by_id", "occurred_at"),
        Index("ix_activity_occurred", "occurred_at"),
        Index("ix_activity_created_at_by", "created_at", "created_by_id"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    summary: str = Field(max_length=4000)
    outcome: str | None = Field(default=None, max_length=2000)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)


class ActivityLink(SQLModel):
    """An activity's link to a row it names: its firms, projects, contacts and officers (the
    colleagues who were there), one table each, ``activity_<kind>``, keyed by both ids and
    indexed from the other side (a firm's, project's, contact's or officer's activities)."""

    activity_id: int = Field(foreign_key="activity.id", primary_key=True)

    @declared_attr.directive
    def __tablename__(cls) -> str:
        return "activity_" + cls.__name__.removeprefix("Activity").lower()


class ActivityFirm(ActivityLink, table=True):
    __table_args__ = (Index("ix_activity_firm_firm", "firm_id", "activity_id"),)
    firm_id: int = Field(foreign_key="firm.id", primary_key=True)


class ActivityProject(ActivityLink, table=True):
    __table_args__ = (Index("ix_activity_project_project", "project_id", "activity_id"),)
    project_id: int = Field(foreign_key="project.id", primary_key=True)


class ActivityContact(ActivityLink, table=True):
    __table_args__ = (Index("ix_activity_contact_contact", "contact_id"),)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)


class ActivityOfficer(ActivityLink, table=True):
    __table_args__ = (Index("ix_activity_officer_user", "user_id", "activity_id"),)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)


class ActivityOfficerWeek(SQLModel, table=True):
    """Contacts each officer logged per local week (Monday, crm.clock's zone), by ``created_at``.

    A rollup of closed weeks only, filled by the ``crm.summaries.fill`` job (stamped with its
    zone in ``summary_fill_state``): the officer-activity report reads it instead of counting a
    million activities, and counts the open week live.
    """

    __tablename__ = "activity_officer_week"

    week_start: date = Field(primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    contacts: int = Field(default=0)
